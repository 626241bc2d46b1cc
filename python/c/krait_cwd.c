/*
** python/c/krait_cwd.c -- linked into python.wasm. Owns the guest's
** starting directory: WASI has no working directory, so wasi-libc starts
** every program in "/"; this constructor moves to $PWD when it names a
** directory the guest can see. Does not own anything else.
*/
#include <stdlib.h>
#include <unistd.h>

/* Runs before main (from _start's constructors). `krait python` sets PWD
** to the host's current directory, which it preopens under the same path,
** so that relative paths mean what they mean natively. A PWD outside the
** preopens, or none, leaves the directory at "/". */
__attribute__((constructor)) static void krait_cwd_init(void)
{
  const char *pwd = getenv("PWD");
  if (pwd && pwd[0] == '/')
    (void)chdir(pwd);
}
