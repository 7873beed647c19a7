# faas-ecs: the OpenFaaS provider for ECS; faas-ecs-secrets, which function and gateway tasks
# run before their main container to turn injected secrets into files; and faas-ecs-cleanup,
# which removes what faas-ecs made in a stack before `terraform destroy`.
#
#   docker build -t faas-ecs .
#
# Builder and runtime are both Debian 12 (bookworm), so the binaries find the same glibc: 2.36,
# the first to load the packed relocations that build.rs links them with.

FROM rust:1.95-slim-bookworm AS builder
# jemalloc (the allocator) is built from C with make, which the slim image lacks.
RUN apt-get update && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that a change to the code alone reuses their layer; .cargo/ holds
# jemalloc's settings, read when it is built.
COPY Cargo.toml Cargo.lock build.rs ./
COPY .cargo ./.cargo
RUN mkdir -p src/bin bench \
    && echo 'fn main() {}' > src/main.rs \
    && echo 'fn main() {}' > src/bin/faas-ecs-secrets.rs \
    && echo 'fn main() {}' > src/bin/faas-ecs-cleanup.rs \
    && echo 'fn main() {}' > bench/upstream.rs \
    && touch src/lib.rs \
    && cargo build --release --locked --bins \
    && rm -rf src bench
COPY src ./src
COPY bench ./bench
ARG FAAS_ECS_GIT_SHA=unknown
ENV FAAS_ECS_GIT_SHA=${FAAS_ECS_GIT_SHA}
RUN touch src/main.rs src/lib.rs src/bin/*.rs \
    && cargo build --release --locked --bins

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /src/target/release/faas-ecs /usr/local/bin/faas-ecs
COPY --from=builder /src/target/release/faas-ecs-secrets /usr/local/bin/faas-ecs-secrets
COPY --from=builder /src/target/release/faas-ecs-cleanup /usr/local/bin/faas-ecs-cleanup
USER nonroot
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/faas-ecs"]
