# bench/python/objects.py -- object allocation: class instances (plain,
# __slots__, with properties and dunder methods), small tuples and lists,
# a linked tree built and torn down each round. Mostly allocator and
# reference-count work; the checksum is a sum over the objects built.

ROUNDS = 20      # build/walk/drop cycles
N = 20000        # objects of each kind per round
DEPTH = 12       # depth of the binary tree per round


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __add__(self, other):
        return Point(self.x + other.x, self.y + other.y)


class Vec:
    __slots__ = ("x", "y", "z")

    def __init__(self, x, y, z):
        self.x, self.y, self.z = x, y, z

    @property
    def norm1(self):
        return abs(self.x) + abs(self.y) + abs(self.z)


class Node:
    __slots__ = ("left", "right", "value")

    def __init__(self, left, right, value):
        self.left, self.right, self.value = left, right, value


def tree(depth, value):
    if depth == 0:
        return Node(None, None, value)
    return Node(tree(depth - 1, 2 * value), tree(depth - 1, 2 * value + 1), value)


def walk(node):
    total = 0
    stack = [node]
    while stack:
        n = stack.pop()
        total += n.value & 0xFF
        if n.left is not None:
            stack.append(n.left)
            stack.append(n.right)
    return total


def main():
    total = 0
    for r in range(ROUNDS):
        acc = Point(0, 0)
        for i in range(N):
            acc = acc + Point(i, -r)
        vecs = [Vec(i, -i, r) for i in range(N)]
        pairs = [(v.x, v.norm1) for v in vecs]
        lists = [[i, i + 1, [i]] for i in range(N)]
        d = {i: (i, str(i)) for i in range(0, N, 3)}
        total += acc.x + acc.y + sum(b for _, b in pairs) + sum(l[2][0] for l in lists) + len(d)
        total += walk(tree(DEPTH, 1))
    print(f"objects {total}")


main()
