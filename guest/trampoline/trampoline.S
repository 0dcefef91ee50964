/*
 * trampoline.S: the UaaF trampoline page, mapped read-only at
 * UAAF_TRAMP_GPA (0x9000) in every view of a session.
 *
 * The same bytes run in the caller's view and in the callee's view; only
 * the SWITCH instruction differs between the two builds of this file:
 *   default          exit backend: outl %eax, $UAAF_SWITCH_PORT (a VM exit;
 *                    the monitor resumes the target view's parked vCPU)
 *   -DUAAF_VMFUNC    vmfunc backend: VMFUNC leaf 0, ECX = view (no exit; the
 *                    same vCPU goes on in the target view)
 * Either way, execution continues after SWITCH in the *target* view, so the
 * code there takes everything it needs from that view's memory: it jumps
 * through the view data page's resume field, and the code it lands on loads
 * its stack pointer from the same page. No register crosses a switch except
 * RIP (vmfunc) — the call itself travels in the call area.
 *
 * Layout (offsets are ABI, see uaaf.h):
 *   +0x000  tramp_call(view)    caller entry, SysV ABI, rdi = view index
 *   +0x040  caller_resume       view 0's resume target
 *   +0x080  callee_entry        view k's resume target
 *   +0x100  tramp_ready         a library's first switch: "preloaded"
 */
#include "uaaf.h"

#define VD_RESUME (UAAF_VIEWDATA_GPA + 0)
#define VD_RSP (UAAF_VIEWDATA_GPA + 8)
#define VD_DISPATCH (UAAF_VIEWDATA_GPA + 16)

/* SWITCH: go to the view in %ecx. Exactly 8 bytes in both builds. */
#ifdef UAAF_VMFUNC
#define SWITCH              \
    xorl %eax, %eax;        \
    .byte 0x0f, 0x01, 0xd4; \
    nop; nop; nop
#else
#define SWITCH                      \
    movl %ecx, %eax;                \
    movw $UAAF_SWITCH_PORT, %dx;    \
    outl %eax, %dx;                 \
    nop
#endif

    .text
    .code64
    .globl uaaf_trampoline_start
uaaf_trampoline_start:

/* +0x000: called by the session's uaaf_call with rdi = target view. */
tramp_call:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, VD_RSP
    movl %edi, %ecx
    SWITCH
    jmpq *VD_RESUME

    .org 0x040, 0xcc
/* +0x040: back in view 0 after the callee switched home. */
caller_resume:
    cld                 /* SysV wants DF=0; on vmfunc the callee's RFLAGS carry over */
    movq VD_RSP, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

    .org 0x080, 0xcc
/* +0x080: in view k: run the library's dispatcher on its own stack, then
 * switch home to view 0. */
callee_entry:
    cld                 /* likewise for the caller's RFLAGS */
    movq VD_RSP, %rsp
    callq *VD_DISPATCH
    xorl %ecx, %ecx
    SWITCH
    jmpq *VD_RESUME

    .org 0x100, 0xcc
/* +0x100: a library that finished preloading reports ready by switching
 * to view 0; when it is next entered it resumes through VD_RESUME. */
tramp_ready:
    xorl %ecx, %ecx
    SWITCH
    jmpq *VD_RESUME

    .org 0x140, 0xcc
    .globl uaaf_trampoline_end
uaaf_trampoline_end:

    .section .note.GNU-stack, "", @progbits
