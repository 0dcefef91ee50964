/*
 * cpu.c: our own GDT, TSS and IDT.
 *
 * The monitor's boot GDT lives in low memory the guest cannot see and its
 * IDT is empty, so the first thing the runtime does is install tables of
 * its own: a flat 64-bit code segment, a data segment, a TSS whose IST1
 * points at a dedicated trap stack, and interrupt gates for vectors 0..31.
 */
#include "internal.h"

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18

#define TRAP_VECTORS 32
#define TRAP_STACK_SIZE 16384

/* 64-bit TSS; packed because rsp0 sits at offset 4. */
struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "tss size");

struct idt_gate {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;  /* bits 0..2: IST index */
    uint8_t type; /* P | DPL | gate type */
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "idt gate size");

struct table_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

extern const uint64_t rt_trap_stubs[TRAP_VECTORS];

/* null, code, data, TSS (a system descriptor takes two slots) */
static uint64_t gdt[5] __attribute__((aligned(16)));
static struct idt_gate idt[TRAP_VECTORS] __attribute__((aligned(16)));
static struct tss tss __attribute__((aligned(16)));
static uint8_t trap_stack[TRAP_STACK_SIZE] __attribute__((aligned(16)));

static void gdt_init(void)
{
    uint64_t base = (uint64_t)(uintptr_t)&tss;
    uint64_t limit = sizeof(tss) - 1;

    gdt[0] = 0;
    /* Code: P, DPL 0, S, type execute/read, L=1 (64-bit), G. */
    gdt[1] = 0x00af9a000000ffffULL;
    /* Data: P, DPL 0, S, type read/write, D/B=1, G. */
    gdt[2] = 0x00cf92000000ffffULL;
    /* TSS low half: limit, base 0..23, P, type 9 (available 64-bit TSS),
     * base 24..31; high half: base 32..63. */
    gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
             (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[4] = base >> 32;
}

static void idt_init(void)
{
    for (int v = 0; v < TRAP_VECTORS; v++) {
        uint64_t off = rt_trap_stubs[v];
        idt[v].offset_lo = off & 0xffff;
        idt[v].selector = SEL_CODE;
        idt[v].ist = 1;
        idt[v].type = 0x8e; /* P, DPL 0, 64-bit interrupt gate */
        idt[v].offset_mid = (off >> 16) & 0xffff;
        idt[v].offset_hi = off >> 32;
        idt[v].reserved = 0;
    }
}

void rt_cpu_init(void)
{
    struct table_ptr gdtr = {sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt};
    struct table_ptr idtr = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};

    tss.ist[0] = (uint64_t)(uintptr_t)(trap_stack + TRAP_STACK_SIZE);
    tss.iomap_base = sizeof(tss); /* no I/O permission bitmap */
    gdt_init();
    idt_init();

    /* Load the GDT, reload CS with a far return, then the data segments. */
    __asm__ __volatile__("lgdt %0\n\t"
                         "pushq %1\n\t"
                         "leaq 1f(%%rip), %%rax\n\t"
                         "pushq %%rax\n\t"
                         "lretq\n"
                         "1:\n\t"
                         "movl %2, %%eax\n\t"
                         "movl %%eax, %%ds\n\t"
                         "movl %%eax, %%es\n\t"
                         "movl %%eax, %%ss\n\t"
                         "movl %%eax, %%fs\n\t"
                         "movl %%eax, %%gs\n\t"
                         :
                         : "m"(gdtr), "i"(SEL_CODE), "i"(SEL_DATA)
                         : "rax", "memory");
    __asm__ __volatile__("ltr %w0" : : "r"(SEL_TSS) : "memory");
    __asm__ __volatile__("lidt %0" : : "m"(idtr) : "memory");
}
