#include "textflag.h"

// Sets in AX a bit for each of the sixteen bytes at SI that JSON escapes
// (control characters and bytes from 0x7f, signed below 0x20 or negative;
// '"', '\\', '<', '>' and '&'), and the flags for it. Uses X0, X4 and X5.
#define SPECIAL \
	MOVOU (SI), X0; \
	MOVOU X8, X4; \
	PCMPGTB X0, X4; \
	MOVOU X0, X5; \
	PCMPEQB X9, X5; \
	POR X5, X4; \
	MOVOU X0, X5; \
	PCMPEQB X10, X5; \
	POR X5, X4; \
	MOVOU X0, X5; \
	PCMPEQB X11, X5; \
	POR X5, X4; \
	MOVOU X0, X5; \
	PCMPEQB X12, X5; \
	POR X5, X4; \
	MOVOU X0, X5; \
	PCMPEQB X13, X5; \
	POR X5, X4; \
	PCMPEQB X14, X0; \
	POR X0, X4; \
	PMOVMSKB X4, AX; \
	TESTL AX, AX

// Each byte JSON escapes, sixteen times: the bound below which bytes are
// control characters, then '"', '\\', '<', '>', '&' and DEL.
DATA special<>+0x00(SB)/8, $0x2020202020202020
DATA special<>+0x08(SB)/8, $0x2020202020202020
DATA special<>+0x10(SB)/8, $0x2222222222222222
DATA special<>+0x18(SB)/8, $0x2222222222222222
DATA special<>+0x20(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA special<>+0x28(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA special<>+0x30(SB)/8, $0x3c3c3c3c3c3c3c3c
DATA special<>+0x38(SB)/8, $0x3c3c3c3c3c3c3c3c
DATA special<>+0x40(SB)/8, $0x3e3e3e3e3e3e3e3e
DATA special<>+0x48(SB)/8, $0x3e3e3e3e3e3e3e3e
DATA special<>+0x50(SB)/8, $0x2626262626262626
DATA special<>+0x58(SB)/8, $0x2626262626262626
DATA special<>+0x60(SB)/8, $0x7f7f7f7f7f7f7f7f
DATA special<>+0x68(SB)/8, $0x7f7f7f7f7f7f7f7f
GLOBL special<>(SB), RODATA|NOPTR, $0x70

// func widePlainPrefix(s string) int
TEXT ·widePlainPrefix(SB), NOSPLIT, $0-24
	MOVQ s_base+0(FP), SI
	MOVQ s_len+8(FP), BX
	MOVQ SI, DI          // start of s
	LEAQ (SI)(BX*1), R8  // end of s
	CMPQ BX, $16
	JB   bytewise

	MOVOU special<>+0x00(SB), X8
	MOVOU special<>+0x10(SB), X9
	MOVOU special<>+0x20(SB), X10
	MOVOU special<>+0x30(SB), X11
	MOVOU special<>+0x40(SB), X12
	MOVOU special<>+0x50(SB), X13
	MOVOU special<>+0x60(SB), X14

blocks:
	LEAQ 16(SI), AX
	CMPQ AX, R8
	JA   last
	SPECIAL
	JNZ  found
	ADDQ $16, SI
	JMP  blocks

last:
	// Fewer than 16 bytes are left: look at the last 16 of s. Those among
	// them looked at already are plain, so the first special byte is past.
	CMPQ SI, R8
	JEQ  none
	LEAQ -16(R8), SI
	SPECIAL
	JZ   none

found:
	BSFL AX, AX
	ADDQ AX, SI
	SUBQ DI, SI
	MOVQ SI, ret+16(FP)
	RET

bytewise:
	CMPQ SI, R8
	JEQ  none
	MOVBLZX (SI), AX
	CMPB AL, $0x20
	JB   at
	CMPB AL, $0x7f
	JAE  at
	CMPB AL, $0x22
	JEQ  at
	CMPB AL, $0x5c
	JEQ  at
	CMPB AL, $0x3c
	JEQ  at
	CMPB AL, $0x3e
	JEQ  at
	CMPB AL, $0x26
	JEQ  at
	INCQ SI
	JMP  bytewise

at:
	SUBQ DI, SI
	MOVQ SI, ret+16(FP)
	RET

none:
	MOVQ BX, ret+16(FP)
	RET
