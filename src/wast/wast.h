/*
** wast.h -- entry point of the spec-test runner, `krait wast`.
** Owns only the declaration the CLI calls; the runner lives in src/wast/.
** Does not own argument dispatch of other subcommands (src/cli/).
*/
#ifndef KT_WAST_H
#define KT_WAST_H

/* Runs `krait wast [--bounds guard|explicit] [--skip FILE] [-v] FILE.json...`.
** argv[0] is "wast". Prints per-file and total counts; returns the process
** exit status: 0 when nothing failed, 1 on a failed test, 2 on bad usage. */
int kt_wast_main(int argc, char **argv);

#endif
