/*
 * start.S: image entry point and the ABI1 note.
 *
 * The monitor enters _start in 64-bit mode with RDI = GPA of struct
 * hvt_boot_info, RSP = top of RAM - 8, interrupts off, and an IDT that is
 * empty; any fault before rt_cpu_init() loads ours is a triple fault.
 */
#include "hvt_abi.h"

/*
 * ABI1 note, in its own section so the linker script can give it its own
 * PT_NOTE: namesz, descsz, type, "Solo5" padded to 8 bytes, then the 16-byte
 * descriptor {abi_target, abi_version, reserved0, reserved1}.
 */
    .section .note.solo5.abi, "a", @note
    .p2align 2
    .long SOLO5_NOTE_NAMESZ
    .long 16
    .long SOLO5_NOTE_TYPE_ABI
    .asciz "Solo5"
    .p2align 2
    .long HVT_ABI_TARGET
    .long HVT_ABI_VERSION
    .long 0
    .long 0

    .section .text.boot, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    cli
    /* Keep the monitor's stack; make it 16-byte aligned for the C ABI. */
    andq $-16, %rsp
    xorl %ebp, %ebp
    call rt_boot /* does not return; RDI still holds boot_info */
1:
    hlt
    jmp 1b
    .size _start, . - _start

    .section .note.GNU-stack, "", @progbits
