//! [`Ipv4Cidr`]: an IPv4 network in CIDR notation (`10.96.0.0/12`), what the Service IP
//! allocator and the node IPAM controller carve addresses and subnets out of.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// Why a CIDR could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// No `/` between address and prefix length.
    #[error("invalid CIDR address: {text}")]
    Malformed {
        /// The text given.
        text: String,
    },
    /// The address part is not an IPv4 address.
    #[error("invalid CIDR address: {text}")]
    InvalidAddress {
        /// The text given.
        text: String,
        /// Why the address did not parse.
        #[source]
        source: std::net::AddrParseError,
    },
    /// The prefix length is not a number from 0 to 32.
    #[error("invalid CIDR address: {text}")]
    InvalidPrefixLength {
        /// The text given.
        text: String,
    },
}

/// An IPv4 network: the address with its host bits cleared and the prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Cidr {
    network: u32,
    prefix_length: u8,
}

impl Ipv4Cidr {
    /// The network containing `address` with this prefix length (host bits cleared), as Go's
    /// `net.ParseCIDR` returns it; `None` for a prefix longer than 32.
    pub const fn new(address: Ipv4Addr, prefix_length: u8) -> Option<Ipv4Cidr> {
        if prefix_length > 32 {
            return None;
        }
        Some(Ipv4Cidr { network: u32::from_be_bytes(address.octets()) & mask(prefix_length), prefix_length })
    }

    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network)
    }

    /// The prefix length.
    pub fn prefix_length(&self) -> u8 {
        self.prefix_length
    }

    /// How many addresses the network spans, network and broadcast included.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix_length))
    }

    /// Whether `address` lies in the network.
    pub fn contains(&self, address: Ipv4Addr) -> bool {
        u32::from(address) & mask(self.prefix_length) == self.network
    }

    /// The address `offset` places after the network address, if still inside the network.
    pub fn address_at(&self, offset: u64) -> Option<Ipv4Addr> {
        (offset < self.size()).then(|| Ipv4Addr::from(self.network + offset as u32))
    }

    /// How far `address` lies after the network address, if inside the network.
    pub fn offset_of(&self, address: Ipv4Addr) -> Option<u64> {
        self.contains(address).then(|| u64::from(u32::from(address) - self.network))
    }

    /// The `index`th subnet of prefix length `subnet_prefix_length`, if there is one.
    pub fn subnet(&self, subnet_prefix_length: u8, index: u64) -> Option<Ipv4Cidr> {
        if subnet_prefix_length < self.prefix_length || subnet_prefix_length > 32 {
            return None;
        }
        let count = 1u64 << (subnet_prefix_length - self.prefix_length);
        if index >= count {
            return None;
        }
        let network = self.network + (index << (32 - u32::from(subnet_prefix_length))) as u32;
        Some(Ipv4Cidr { network, prefix_length: subnet_prefix_length })
    }

    /// Which subnet of prefix length `subnet_prefix_length` `subnet` is, if it is one of this
    /// network's.
    pub fn subnet_index(&self, subnet: &Ipv4Cidr, subnet_prefix_length: u8) -> Option<u64> {
        let inside = subnet.prefix_length == subnet_prefix_length && self.contains(subnet.network());
        inside.then(|| u64::from(subnet.network - self.network) >> (32 - u32::from(subnet_prefix_length)))
    }
}

const fn mask(prefix_length: u8) -> u32 {
    if prefix_length == 0 { 0 } else { u32::MAX << (32 - prefix_length as u32) }
}

impl FromStr for Ipv4Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Ipv4Cidr, CidrError> {
        let (address, prefix) = text.split_once('/').ok_or_else(|| CidrError::Malformed { text: text.into() })?;
        let address =
            address.parse::<Ipv4Addr>().map_err(|source| CidrError::InvalidAddress { text: text.into(), source })?;
        let invalid_prefix = || CidrError::InvalidPrefixLength { text: text.into() };
        let prefix_length = prefix.parse::<u8>().map_err(|_| invalid_prefix())?;
        Ipv4Cidr::new(address, prefix_length).ok_or_else(invalid_prefix)
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.network(), self.prefix_length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_clears_host_bits_and_prints_back() {
        let cidr: Ipv4Cidr = "10.100.3.4/12".parse().unwrap();
        assert_eq!(cidr.to_string(), "10.96.0.0/12");
        assert_eq!(cidr.size(), 1 << 20);
        assert!(cidr.contains("10.111.255.255".parse().unwrap()));
        assert!(!cidr.contains("10.112.0.0".parse().unwrap()));
        assert!("10.0.0.0".parse::<Ipv4Cidr>().is_err());
        assert!("10.0.0.0/33".parse::<Ipv4Cidr>().is_err());
        assert!("fd00::/8".parse::<Ipv4Cidr>().is_err());
    }

    #[test]
    fn subnets_are_numbered_from_the_network_address() {
        let cluster: Ipv4Cidr = "10.244.0.0/16".parse().unwrap();
        assert_eq!(cluster.subnet(24, 0).unwrap().to_string(), "10.244.0.0/24");
        assert_eq!(cluster.subnet(24, 255).unwrap().to_string(), "10.244.255.0/24");
        assert_eq!(cluster.subnet(24, 256), None);
        let subnet: Ipv4Cidr = "10.244.7.0/24".parse().unwrap();
        assert_eq!(cluster.subnet_index(&subnet, 24), Some(7));
        assert_eq!(cluster.subnet_index(&"10.245.7.0/24".parse().unwrap(), 24), None);
    }
}
