# bench/python/float.py -- float loops: a Mandelbrot escape-count grid and
# an n-body simulation (the benchmarks-game model). Only +, -, *, / and
# math.sqrt, which IEEE 754 rounds exactly, so every runner agrees bit
# for bit; the checksum prints the energies with repr.
import math

SIZE = 200       # Mandelbrot grid is SIZE x SIZE
ITER = 150       # Mandelbrot iteration cap
STEPS = 80000    # n-body time steps


def mandelbrot(size, limit):
    inside = 0
    escape = 0
    for y in range(size):
        ci = 2.0 * y / size - 1.0
        for x in range(size):
            cr = 2.0 * x / size - 1.5
            zr = zi = 0.0
            for i in range(limit):
                tr = zr * zr - zi * zi + cr
                zi = 2.0 * zr * zi + ci
                zr = tr
                if zr * zr + zi * zi > 4.0:
                    escape += i
                    break
            else:
                inside += 1
    return inside, escape


PI = 3.14159265358979323
SOLAR_MASS = 4 * PI * PI
DAYS_PER_YEAR = 365.24


def bodies():
    return [
        [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], SOLAR_MASS],
        [[4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01],
         [1.66007664274403694e-03 * DAYS_PER_YEAR, 7.69901118419740425e-03 * DAYS_PER_YEAR,
          -6.90460016972063023e-05 * DAYS_PER_YEAR], 9.54791938424326609e-04 * SOLAR_MASS],
        [[8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01],
         [-2.76742510726862411e-03 * DAYS_PER_YEAR, 4.99852801234917238e-03 * DAYS_PER_YEAR,
          2.30417297573763929e-05 * DAYS_PER_YEAR], 2.85885980666130812e-04 * SOLAR_MASS],
        [[1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01],
         [2.96460137564761618e-03 * DAYS_PER_YEAR, 2.37847173959480950e-03 * DAYS_PER_YEAR,
          -2.96589568540237556e-05 * DAYS_PER_YEAR], 4.36624404335156298e-05 * SOLAR_MASS],
        [[1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01],
         [2.68067772490389322e-03 * DAYS_PER_YEAR, 1.62824170038242295e-03 * DAYS_PER_YEAR,
          -9.51592254519715870e-05 * DAYS_PER_YEAR], 5.15138902046611451e-05 * SOLAR_MASS],
    ]


def energy(bs):
    e = 0.0
    for i, (p, v, m) in enumerate(bs):
        e += 0.5 * m * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
        for (q, _, m2) in bs[i + 1:]:
            dx, dy, dz = p[0] - q[0], p[1] - q[1], p[2] - q[2]
            e -= m * m2 / math.sqrt(dx * dx + dy * dy + dz * dz)
    return e


def advance(bs, steps, dt):
    pairs = [(bs[i], bs[j]) for i in range(len(bs)) for j in range(i + 1, len(bs))]
    for _ in range(steps):
        for (([x1, y1, z1], v1, m1), ([x2, y2, z2], v2, m2)) in pairs:
            dx, dy, dz = x1 - x2, y1 - y2, z1 - z2
            d2 = dx * dx + dy * dy + dz * dz
            mag = dt / (d2 * math.sqrt(d2))
            b1, b2 = m1 * mag, m2 * mag
            v1[0] -= dx * b2
            v1[1] -= dy * b2
            v1[2] -= dz * b2
            v2[0] += dx * b1
            v2[1] += dy * b1
            v2[2] += dz * b1
        for (r, [vx, vy, vz], _) in bs:
            r[0] += dt * vx
            r[1] += dt * vy
            r[2] += dt * vz


def main():
    inside, escape = mandelbrot(SIZE, ITER)
    bs = bodies()
    px = sum(v[0] * m for (_, v, m) in bs)
    py = sum(v[1] * m for (_, v, m) in bs)
    pz = sum(v[2] * m for (_, v, m) in bs)
    sun = bs[0][1]
    sun[0], sun[1], sun[2] = -px / SOLAR_MASS, -py / SOLAR_MASS, -pz / SOLAR_MASS
    e0 = energy(bs)
    advance(bs, STEPS, 0.01)
    e1 = energy(bs)
    print(f"mandelbrot {inside} {escape} nbody {e0!r} {e1!r}")


main()
