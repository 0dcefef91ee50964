/*
 * traps.S: entry stubs for CPU exception vectors 0..31.
 *
 * Every vector runs on IST1 (see cpu.c). The CPU pushes SS, RSP, RFLAGS,
 * CS, RIP and, for some vectors, an error code; stubs of the other vectors
 * push a 0 so all frames look alike. trap_common then pushes CR2, which
 * leaves struct trap_regs {cr2, ec, rip, cs, rflags, rsp, ss} at RSP: that
 * address is what rt_trap() reports as the HALT cookie.
 */

    .macro TRAP_NO_EC vec
    .p2align 4
trap_\vec:
    pushq $0
    movl $\vec, %edi
    jmp trap_common
    .endm

    .macro TRAP_EC vec
    .p2align 4
trap_\vec:
    movl $\vec, %edi
    jmp trap_common
    .endm

    .text
    .irp v, 0, 1, 2, 3, 4, 5, 6, 7, 9, 15, 16, 18, 19, 20, 22, 23, 24, 25, 26, 27, 28, 31
    TRAP_NO_EC \v
    .endr
    /* Vectors for which the CPU pushes an error code. */
    .irp v, 8, 10, 11, 12, 13, 14, 17, 21, 29, 30
    TRAP_EC \v
    .endr

    .p2align 4
trap_common:
    movq %cr2, %rax
    pushq %rax
    movq %rsp, %rsi
    andq $-16, %rsp
    call rt_trap /* does not return */
1:
    hlt
    jmp 1b

    /* Stub addresses indexed by vector, read by rt_cpu_init(). */
    .section .rodata
    .p2align 3
    .globl rt_trap_stubs
rt_trap_stubs:
    .irp v, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    .quad trap_\v
    .endr

    .section .note.GNU-stack, "", @progbits
