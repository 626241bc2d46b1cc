# web/examples/packages.py -- loaded by packages.html with src=: reads a
# file the config fetched and imports a package from a zip it mounted.
import greet

print(greet.hello(open("greeting.txt").read()))
print("greet comes from", greet.__file__)
