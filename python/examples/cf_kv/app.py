# python/examples/cf_kv/app.py -- the Cloudflare Python Workers seed
# example, verbatim. Run with style "cloudflare", module "app", kv ["FOO"].
from js import Response
async def on_fetch(request, env):
    await env.FOO.put("bar", "baz")
    bar = await env.FOO.get("bar")
    return Response.new(bar)
