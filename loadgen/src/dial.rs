//! Opening a user's TCP connection, from a chosen source address when asked.
//!
//! One source address gives at most one connection per ephemeral port towards a server
//! (about 28 000 with Linux's default `ip_local_port_range`). Spreading users over several
//! loopback addresses (127.0.0.2, 127.0.0.3, …: the whole 127/8 is local on Linux) lifts that
//! limit for runs with more users than one address has ports.

use crate::error::ClientError;
use std::io;
use std::net::{IpAddr, SocketAddr};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::http::Uri;

/// Connects to the host and port of `endpoint` (a `ws://` URL), from `source` when given.
/// `TCP_NODELAY` is set, as Node's `ws` sets it; without it small frames wait for Nagle.
pub async fn dial(endpoint: &str, source: Option<IpAddr>) -> Result<TcpStream, ClientError> {
    let target = target_address(endpoint).await?;
    let stream = match source {
        None => TcpStream::connect(target).await?,
        Some(ip) => {
            let socket = match ip {
                IpAddr::V4(_) => TcpSocket::new_v4()?,
                IpAddr::V6(_) => TcpSocket::new_v6()?,
            };
            // Port 0: the kernel picks a free port of this address.
            socket.bind(SocketAddr::new(ip, 0))?;
            socket.connect(target).await?
        }
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The first address `endpoint`'s authority resolves to.
async fn target_address(endpoint: &str) -> Result<SocketAddr, ClientError> {
    let uri: Uri = endpoint
        .parse()
        .map_err(|_| ClientError::Endpoint(endpoint.to_owned()))?;
    let host = uri
        .host()
        .ok_or_else(|| ClientError::Endpoint(endpoint.to_owned()))?
        .to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let mut addresses = tokio::net::lookup_host((host.as_str(), port)).await?;
    addresses.next().ok_or_else(|| {
        ClientError::Io(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host} resolves to no address"),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn connects_from_the_given_loopback_address() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("listen");
        let endpoint = format!(
            "ws://{}/socket.io/?EIO=4&transport=websocket",
            listener.local_addr().expect("address")
        );
        let source: IpAddr = "127.0.0.3".parse().expect("ip");
        let (stream, accepted) = tokio::join!(dial(&endpoint, Some(source)), listener.accept());
        let stream = stream.expect("dial");
        let (_, peer) = accepted.expect("accept");
        assert_eq!(peer.ip(), source);
        assert_eq!(stream.local_addr().expect("local").ip(), source);
        assert!(stream.nodelay().expect("nodelay"));
    }

    #[tokio::test]
    async fn an_endpoint_without_host_is_refused() {
        let error = dial("not a url", None).await.expect_err("refused");
        assert!(matches!(error, ClientError::Endpoint(_)));
    }
}
