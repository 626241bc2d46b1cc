/*
** examples/mandelbrot.c -- prints the Mandelbrot set as ASCII art.
** usage: mandelbrot [WIDTH [HEIGHT [MAX_ITER]]]   (defaults 72 28 500)
** Built for wasm32-wasi by `make demo` and run with `krait run`.
*/
#include <stdio.h>
#include <stdlib.h>

/* Parses argv[i] as a positive int, or returns fallback. */
static int arg(int argc, char **argv, int i, int fallback) {
  if (i >= argc) return fallback;
  int v = atoi(argv[i]);
  return v > 0 ? v : fallback;
}

int main(int argc, char **argv) {
  int w = arg(argc, argv, 1, 72), h = arg(argc, argv, 2, 28), max = arg(argc, argv, 3, 500);
  static const char shades[] = " .:-=+*#%@";
  long total = 0;
  for (int y = 0; y < h; y++) {
    for (int x = 0; x < w; x++) {
      double cr = -2.2 + 3.0 * x / w, ci = -1.2 + 2.4 * y / h;
      double zr = 0, zi = 0;
      int n = 0;
      while (n < max && zr * zr + zi * zi <= 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        n++;
      }
      total += n;
      putchar(n == max ? '@' : shades[n % (sizeof shades - 2)]);
    }
    putchar('\n');
  }
  printf("%dx%d, max %d iterations, %ld iterations in all\n", w, h, max, total);
  return 0;
}
