/*
** file.h -- whole files and scratch trees (file.c): reading a file with a
** clear reason for failure, removing a directory tree. Owns no format.
*/
#ifndef KU_FILE_H
#define KU_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Reads the file at path (a pipe too); malloc'ed. On failure NULL with the
** reason ("No such file or directory", "it is a directory") in why[n]. */
uint8_t *ku_read_file(const char *path, size_t *len, char *why, size_t n);

/* Reads everything from the open fd (a file in one read of its size, or a
** pipe); malloc'ed, *len bytes. NULL with errno set on failure. */
uint8_t *ku_read_fd(int fd, size_t *len);

/* Removes a directory tree (a half-unpacked bundle, a scratch dir)
** without following symlinks; best effort. */
void ku_remove_tree(const char *dir);

#endif
