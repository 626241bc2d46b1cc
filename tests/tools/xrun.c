/*
** tests/tools/xrun.c -- test helper: runs a command with a watchdog.
** Owns: telling "exited with N" apart from "killed by signal N" exactly.
** Does not own: judging the result (the calling test script does that).
**
** usage: xrun SECONDS OUTFILE ERRFILE CMD [ARGS...]
** Runs CMD with stdin from /dev/null, stdout to OUTFILE, stderr to ERRFILE.
** Prints one line: "exit N", "signal N" or "timeout" (killed after SECONDS)
** and exits 0, or 2 when it could not run CMD at all.
*/
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Redirects fd to path opened with flags, or exits the child. */
static void redirect(int fd, const char *path, int flags) {
  int f = open(path, flags, 0644);
  if (f < 0 || dup2(f, fd) < 0) _exit(127);
  close(f);
}

/* Waits for pid up to secs seconds; kills it (and its group) after that.
** Returns the wait status and sets *timed_out. */
static int wait_with_deadline(pid_t pid, double secs, int *timed_out) {
  struct timespec nap = {0, 10 * 1000 * 1000};
  double waited = 0;
  int st = 0;
  *timed_out = 0;
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return st;
    if (r < 0 && errno != EINTR) return st;
    if (waited >= secs && !*timed_out) {
      *timed_out = 1;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
    }
    nanosleep(&nap, NULL);
    waited += 0.01;
  }
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: xrun SECONDS OUTFILE ERRFILE CMD [ARGS...]\n");
    return 2;
  }
  double secs = atof(argv[1]);
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); return 2; }
  if (pid == 0) {
    setpgid(0, 0);
    redirect(0, "/dev/null", O_RDONLY);
    redirect(1, argv[2], O_WRONLY | O_CREAT | O_TRUNC);
    redirect(2, argv[3], O_WRONLY | O_CREAT | O_TRUNC);
    execvp(argv[4], argv + 4);
    fprintf(stderr, "xrun: cannot run %s: %s\n", argv[4], strerror(errno));
    _exit(127);
  }
  int timed_out;
  int st = wait_with_deadline(pid, secs, &timed_out);
  if (timed_out) printf("timeout\n");
  else if (WIFSIGNALED(st)) printf("signal %d\n", WTERMSIG(st));
  else printf("exit %d\n", WEXITSTATUS(st));
  return 0;
}
