# bench/python/fib.py -- recursion: naive recursive fib, and mutual
# recursion (is_even/is_odd) a few hundred frames deep; frame setup, calls
# and small-int arithmetic. The checksum is the results themselves.

N = 30           # fib(N): about 2.7 million calls
DEEP = 600       # deepest is_even() chain, under the default recursion limit
REPEAT = 150     # passes over the is_even() chains


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def is_even(n):
    return True if n == 0 else is_odd(n - 1)


def is_odd(n):
    return False if n == 0 else is_even(n - 1)


def main():
    total = fib(N)
    evens = sum(1 for i in range(0, DEEP, 7) for _ in range(REPEAT) if is_even(i))
    print(f"fib {total} evens {evens}")


main()
