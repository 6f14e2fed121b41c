# Spoken Digits as a Hugging Face Space (sdk: docker, app_port: 7860).
FROM denoland/deno:debian-2.9.6

# Spaces run the container as uid 1000; give that user a home and own the app.
RUN useradd --create-home --uid 1000 user
USER user
ENV HOME=/home/user \
    DENO_DIR=/home/user/.cache/deno \
    DENO_NO_UPDATE_CHECK=1 \
    PORT=7860
WORKDIR /home/user/app
COPY --chown=user:user . .

# Everything the server needs is fetched now, so the container starts with no network:
# npm packages into node_modules and DENO_DIR, and the islands bundle into static/build.
RUN deno install --frozen --entrypoint main.ts islands/client.ts islands/inference.ts islands/build.ts && deno run -A islands/build.ts --force

EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["deno", "eval", "const r = await fetch('http://127.0.0.1:7860/health'); Deno.exit(r.ok ? 0 : 1)"]
CMD ["deno", "task", "start"]
