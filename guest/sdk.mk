# sdk.mk: compiler and linker settings for building hvt unikernels with the
# uaaf guest SDK. Included by guest/Makefile; an out-of-tree program can
# include it too (see README.md):
#
#   UAAF_SDK := /usr/local/share/uaaf/sdk   (or a source tree's guest/)
#   include $(UAAF_SDK)/sdk.mk
#
# and then link $(UAAF_RUNTIME) with its objects using $(UAAF_LDFLAGS),
# generating its manifest with $(UAAF_MFTGEN).

UAAF_SDK ?= $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
UAAF_CC ?= gcc

# gcc's own freestanding headers (stdint.h, stddef.h, stdarg.h, ...) only;
# string.h and assert.h come from the SDK.
UAAF_GCC_INCLUDE := $(shell $(UAAF_CC) -print-file-name=include)

# No SSE/MMX/AVX: ring-0 guest code may be emulated and the emulator
# cannot do SSE arithmetic. No red zone: traps push onto the same stack.
# The stack protector uses a global guard (FS is the application's TLS).
UAAF_CFLAGS := -std=gnu11 -ffreestanding -nostdinc \
	-isystem $(UAAF_GCC_INCLUDE) -I$(UAAF_SDK)/include \
	-fno-pic -fno-pie -mno-red-zone -mno-sse -mno-mmx -mno-avx \
	-mcmodel=small -fno-asynchronous-unwind-tables -fno-common \
	-fstack-protector-strong -mstack-protector-guard=global \
	-O2 -Wall -Wextra -Werror

UAAF_ASFLAGS := -ffreestanding -nostdinc -isystem $(UAAF_GCC_INCLUDE) \
	-I$(UAAF_SDK)/include -fno-pic -fno-pie

UAAF_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none \
	-Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack \
	-T $(UAAF_SDK)/lds/hvt.lds

# The runtime as one relocatable object (start code, traps, Solo5 API), and
# the manifest generator (tools/mftgen): in an installed SDK
# (PREFIX/share/uaaf/sdk, see `make install`) lib/uaaf-hvt.o and
# PREFIX/bin/uaaf-mftgen; in the source tree's guest/, build/uaaf-hvt.o
# and bin/uaaf-mftgen.
ifneq ($(wildcard $(UAAF_SDK)/lib/uaaf-hvt.o),)
UAAF_RUNTIME ?= $(UAAF_SDK)/lib/uaaf-hvt.o
UAAF_MFTGEN ?= $(abspath $(UAAF_SDK)/../../../bin/uaaf-mftgen)
else
UAAF_RUNTIME ?= $(UAAF_SDK)/build/uaaf-hvt.o
UAAF_MFTGEN ?= $(abspath $(UAAF_SDK)/../bin/uaaf-mftgen)
endif

# Quiet build output: `make V=1` shows the commands. $(Q) prefixes a
# command, $(call say,TAG,FILE) prints one short line instead.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-7s %s\n' $(1) $(2)
endif
