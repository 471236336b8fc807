#include "textflag.h"

// '"' and '\\', sixteen times each.
DATA quotes<>+0x00(SB)/8, $0x2222222222222222
DATA quotes<>+0x08(SB)/8, $0x2222222222222222
DATA quotes<>+0x10(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA quotes<>+0x18(SB)/8, $0x5c5c5c5c5c5c5c5c
GLOBL quotes<>(SB), RODATA|NOPTR, $0x20

// Sets in AX a bit for each of the sixteen bytes at SI that is a quote or a
// backslash, and the flags for it. Uses X0 and X3.
#define MATCH \
	MOVOU (SI), X0; \
	MOVOU X0, X3; \
	PCMPEQB X1, X0; \
	PCMPEQB X2, X3; \
	POR X3, X0; \
	PMOVMSKB X0, AX; \
	TESTL AX, AX

// func quoteOrBackslash(b []byte) int
TEXT ·quoteOrBackslash(SB), NOSPLIT, $0-32
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), BX
	MOVQ SI, DI            // start of b
	LEAQ (SI)(BX*1), R8    // end of b
	CMPQ BX, $16
	JB   bytewise

	MOVOU quotes<>+0x00(SB), X1
	MOVOU quotes<>+0x10(SB), X2

blocks:
	LEAQ 16(SI), AX
	CMPQ AX, R8
	JA   last
	MATCH
	JNZ  found
	ADDQ $16, SI
	JMP  blocks

last:
	// Fewer than 16 bytes are left: compare the last 16 of b. The bytes
	// among them compared already hold no match, so the first match is
	// past them.
	CMPQ SI, R8
	JEQ  none
	LEAQ -16(R8), SI
	MATCH
	JZ   none

found:
	BSFL AX, AX
	ADDQ AX, SI
	SUBQ DI, SI
	MOVQ SI, ret+24(FP)
	RET

bytewise:
	CMPQ SI, R8
	JEQ  none
	MOVBLZX (SI), AX
	CMPB AL, $0x22
	JEQ  at
	CMPB AL, $0x5c
	JEQ  at
	INCQ SI
	JMP  bytewise

at:
	SUBQ DI, SI
	MOVQ SI, ret+24(FP)
	RET

none:
	MOVQ BX, ret+24(FP)
	RET
