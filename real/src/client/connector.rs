//! How a client reaches the API server: a [`Connector`] opens one byte stream per request or
//! watch. Production connects over tokio TCP; turmoil tests pass turmoil's sockets, so the same
//! client code runs over a simulated network that can be partitioned.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream to the server.
pub trait Connection: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Connection for T {}

/// A future that opens a connection.
pub type Connecting<'a> = Pin<Box<dyn Future<Output = io::Result<Box<dyn Connection>>> + Send + 'a>>;

/// Opens connections to one API server.
pub trait Connector: Send + Sync + 'static {
    /// A new connection.
    fn connect(&self) -> Connecting<'_>;

    /// The `Host` header's value.
    fn authority(&self) -> String;
}

/// Plain TCP to an address.
#[derive(Clone, Copy, Debug)]
pub struct TcpConnector {
    address: SocketAddr,
}

impl TcpConnector {
    /// A connector to `address`.
    pub fn new(address: SocketAddr) -> TcpConnector {
        TcpConnector { address }
    }
}

impl Connector for TcpConnector {
    fn connect(&self) -> Connecting<'_> {
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect(self.address).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream) as Box<dyn Connection>)
        })
    }

    fn authority(&self) -> String {
        self.address.to_string()
    }
}
