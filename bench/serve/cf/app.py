# bench/serve/cf/app.py -- hello world, Cloudflare Python Workers style
# (bench/serve.sh).
from js import Response
async def on_fetch(request, env):
    return Response.new("hi")
