# Multi-stage build of chat-server: a release binary on a slim Debian runtime.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin chat-server

FROM debian:bookworm-slim
RUN useradd --system --home /app chat
WORKDIR /app
COPY --from=build /src/target/release/chat-server /usr/local/bin/chat-server
COPY static ./static
COPY config ./config
USER chat
EXPOSE 3000
ENV RUST_LOG=info
# SIGTERM drains sessions (clients reconnect elsewhere) before exiting.
STOPSIGNAL SIGTERM
CMD ["chat-server"]
