/*
** module.h -- the in-memory form of a decoded module, shared by the decoder,
** validator, lowering and runtime. Owns no behaviour beyond small helpers.
*/
#ifndef KD_MODULE_H
#define KD_MODULE_H

#include "krait.h"
#include "util/util.h"
#include <stdatomic.h>

/* Opcode enum, generated from opcodes.def. Values are dense, not bytes. */
typedef enum kd_op {
#define X(name, code, text, kind, a, r, sem) KD_OP_##name,
#include "decode/opcodes.def"
#undef X
  KD_OP_COUNT
} kd_op;


/* Per-opcode facts generated from opcodes.def. */
enum { KD_K_SPECIAL, KD_K_UN, KD_K_BIN, KD_K_CMP, KD_K_LOAD, KD_K_STORE };
typedef struct kd_opinfo {
  uint8_t kind;   /* KD_K_* */
  uint8_t a, r;   /* operand and result value types (UN/BIN), value (LOAD/STORE) */
  uint8_t size;   /* bytes accessed (LOAD/STORE) */
} kd_opinfo;
extern const kd_opinfo kd_opinfo_table[KD_OP_COUNT];

/* Value types, using krait_valtype numbering; VOID marks "no value". */
enum { KD_I32 = KRAIT_I32, KD_I64 = KRAIT_I64, KD_F32 = KRAIT_F32,
       KD_F64 = KRAIT_F64, KD_FUNCREF = KRAIT_FUNCREF,
       KD_EXTERNREF = KRAIT_EXTERNREF, KD_UNKNOWN = 14, KD_VOID = 15 };

/* A function type. Types with equal params and results share one id
** engine-wide, so call_indirect compares ids only. */
typedef struct kd_functype {
  uint32_t nparams, nresults;
  uint8_t *params, *results;
  uint32_t id;       /* canonical id from the engine's type registry */
  const char *sig;   /* signature string, e.g. "ii:I" */
} kd_functype;

typedef struct kd_limits {
  uint32_t min, max;   /* max valid when has_max */
  bool has_max;
} kd_limits;

typedef struct kd_tabletype { uint8_t elem; kd_limits lim; } kd_tabletype;
typedef struct kd_globaltype { uint8_t type; bool mut; } kd_globaltype;

/* A constant expression of Wasm 2.0: exactly one instruction. */
typedef struct kd_constexpr {
  kd_op op;          /* *_CONST, REF_NULL, REF_FUNC or GLOBAL_GET */
  uint64_t value;    /* constant bits, function or global index */
  uint8_t type;      /* resulting value type (after validation) */
  size_t offset;     /* byte offset, for messages */
} kd_constexpr;

typedef struct kd_import {
  const char *module, *name;
  krait_externkind kind;
  uint32_t index;    /* position in its kind's index space */
  char *type_text;   /* for krait_module_import */
} kd_import;

typedef struct kd_export {
  const char *name;
  uint32_t name_len;       /* names may contain NUL bytes */
  krait_externkind kind;
  uint32_t index;
  char *type_text;
} kd_export;

/* One function of the module (imported or defined). */
typedef struct kd_func {
  uint32_t type_idx;
  bool imported;
  uint32_t nlocals;        /* params + declared locals */
  uint8_t *local_types;    /* nlocals entries */
  const uint8_t *body;     /* expression bytes, after the locals */
  size_t body_len;
  size_t body_offset;      /* offset of body in module bytes */
  uint32_t max_height;     /* max operand stack height (validator) */
  bool checked;            /* body validated (valid/: under its lock) */
  const char *name;        /* from the name section, or NULL */
  void *_Atomic code;      /* lowered code (interp), made on first call */
} kd_func;

enum { KD_SEG_ACTIVE, KD_SEG_PASSIVE, KD_SEG_DECLARATIVE };

typedef struct kd_elem {
  int mode;
  uint8_t type;            /* funcref or externref */
  uint32_t table;
  kd_constexpr offset;
  uint32_t count;
  kd_constexpr *items;
} kd_elem;

typedef struct kd_data {
  int mode;
  uint32_t memory;
  kd_constexpr offset;
  const uint8_t *bytes;
  uint32_t len;
} kd_data;

typedef struct kd_custom {
  const char *name;
  const uint8_t *bytes;
  size_t len;
} kd_custom;

struct krait_module {
  krait_engine *engine;
  ku_arena arena;          /* owns everything below */
  uint8_t *bytes;          /* copy of the binary, or a view of its file */
  bool view;               /* bytes: a read-only view (kr_module_view) */
  size_t len;
  size_t code_at, code_end; /* a view's code entries (bodies left unread) */

  uint32_t ntypes;         kd_functype *types;
  uint32_t nimports;       kd_import *imports;
  uint32_t nfuncs, nfunc_imports;       kd_func *funcs;
  uint32_t ntables, ntable_imports;     kd_tabletype *tables;
  uint32_t nmems, nmem_imports;         kd_limits *mems;
  uint32_t nglobals, nglobal_imports;   kd_globaltype *globals;
  kd_constexpr *global_inits;           /* for defined globals, by index */
  uint32_t nexports;       kd_export *exports;
  bool has_start;          uint32_t start;
  uint32_t nelems;         kd_elem *elems;
  uint32_t ndatas;         kd_data *datas;
  bool has_datacount;      uint32_t datacount;
  uint32_t ncustoms;       kd_custom *customs;
  bool *func_declared;     /* functions referable by ref.func (C.refs) */
  const char *module_name; /* from the name section */
  void *aot;               /* attached native code (src/aot/, kaot_mod) */
  _Atomic bool bodies_pending; /* some bodies not validated yet (valid.h) */
  uint8_t sha[32];         /* SHA-256 of bytes, once has_sha is set */
  _Atomic bool has_sha;    /* given at creation or computed on first ask */
};

/* Decodes bytes into m (already zeroed, engine set). On failure fills err
** (MALFORMED or UNSUPPORTED) and returns -1; m's arena holds partial data. */
int kd_decode(krait_module *m, const uint8_t *bytes, size_t len,
              krait_error *err);

/* A view (m->view) is decoded without walking its code section, so its
** functions' body, locals and offsets stay unset: it runs native code
** only. Finds defined function fi's expression bytes; false when the
** viewed bytes do not hold them. */
bool kd_find_body(const krait_module *m, uint32_t fi, const uint8_t **body, size_t *len);

/* The function type of function index i. */
static inline const kd_functype *kd_func_type(const krait_module *m,
                                              uint32_t i) {
  return &m->types[m->funcs[i].type_idx];
}

/* Textual name of a value type, e.g. "i32". */
const char *kd_valtype_name(uint8_t t);

/* Text of opcode op, e.g. "i32.add". */
const char *kd_op_name(kd_op op);

/* Maps a Wasm opcode value (byte, or 0xFC00|sub) to kd_op; -1 if unknown. */
int kd_op_from_code(uint32_t code);

/* Signature string letter of a value type (i I f F r x). */
char kd_valtype_letter(uint8_t t);

#endif
