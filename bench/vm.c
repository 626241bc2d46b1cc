/*
** bench/vm.c -- kernel: an interpreter-style switch loop. A tiny stack
** machine runs a bytecode program (nested counting loops doing
** arithmetic, comparisons and a collatz-like inner loop).
** Checksum: the machine's accumulator at halt.
*/
#include "bench.h"

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, AND, XOR, SHR, DUP, DROP, JNZ, JMP, LT, HALT, MOD, INC };

/* vars: 0 i, 1 n, 2 acc, 3 x */
static const int32_t program[] = {
  PUSH, 0, STORE, 0,                 /* i = 0 */
  PUSH, 0, STORE, 2,                 /* acc = 0 */
  /* loop: 8 */
  LOAD, 0, STORE, 3,                 /* x = i */
  /* inner: 12  while (x > 1) x = x odd ? 3x+1 : x/2, acc++ */
  LOAD, 3, PUSH, 1, AND, JNZ, 28,    /* odd? */
  LOAD, 3, PUSH, 1, SHR, STORE, 3, JMP, 40,
  /* odd: 28 */
  LOAD, 3, DUP, ADD, LOAD, 3, ADD, PUSH, 1, ADD,
  /* 38: store x; 40: acc++ */
  STORE, 3, INC, 2,
  PUSH, 1, LOAD, 3, LT, JNZ, 12,     /* 1 < x ? inner */
  LOAD, 2, LOAD, 0, XOR, PUSH, 65521, MOD, LOAD, 2, ADD, STORE, 2,
  INC, 0,
  LOAD, 0, LOAD, 1, LT, JNZ, 8,      /* i < n ? loop */
  LOAD, 2, HALT};

/* Runs program with n = limit; returns the value left by HALT. */
static int32_t execute(int32_t limit) {
  int32_t stack[64], vars[4] = {0, limit, 0, 0};
  int sp = 0, pc = 0;
  for (;;) {
    int32_t op = program[pc++];
    switch (op) {
    case PUSH: stack[sp++] = program[pc++]; break;
    case LOAD: stack[sp++] = vars[program[pc++]]; break;
    case STORE: vars[program[pc++]] = stack[--sp]; break;
    case ADD: sp--; stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] + (uint32_t)stack[sp]); break;
    case SUB: sp--; stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] - (uint32_t)stack[sp]); break;
    case MUL: sp--; stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] * (uint32_t)stack[sp]); break;
    case AND: sp--; stack[sp - 1] &= stack[sp]; break;
    case XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
    case SHR: sp--; stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] >> stack[sp]); break;
    case MOD: sp--; stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] % (uint32_t)stack[sp]); break;
    case DUP: stack[sp] = stack[sp - 1]; sp++; break;
    case DROP: sp--; break;
    case JNZ: { int32_t t = program[pc++]; if (stack[--sp]) pc = t; break; }
    case JMP: pc = program[pc]; break;
    case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
    case INC: vars[program[pc++]]++; break;
    case HALT: return stack[sp - 1];
    default: return -1;
    }
  }
}

uint32_t run(void) { return (uint32_t)execute(PICK(30000, 3000)); }

BENCH_MAIN
