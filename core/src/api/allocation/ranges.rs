//! The two ranges Services draw from: cluster IPs out of the service CIDR (Kubernetes'
//! `ipallocator.Range`) and node ports out of the node port range (`portallocator`), each a
//! [`Bitmap`] with Kubernetes' static sub-range reserved for requested values.

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use super::bitmap::Bitmap;
use super::cidr::Ipv4Cidr;

/// Why one address or port could not be allocated; the messages are Kubernetes'.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// The requested IP is taken (`ipallocator.ErrAllocated`).
    #[error("provided IP is already allocated")]
    IpAllocated,
    /// The requested IP is outside the service CIDR, or is its network or broadcast address.
    #[error("the provided IP ({ip}) is not in the valid range. The range of valid IPs is {range}")]
    IpNotInRange {
        /// The requested address.
        ip: Ipv4Addr,
        /// The service CIDR.
        range: Ipv4Cidr,
    },
    /// The requested node port is taken (`portallocator.ErrAllocated`).
    #[error("provided port is already allocated")]
    PortAllocated,
    /// The requested node port is outside the node port range.
    #[error("provided port is not in the valid range. The range of valid ports is {first}-{last}")]
    PortNotInRange {
        /// The first port of the range.
        first: i32,
        /// The last port of the range.
        last: i32,
    },
    /// Nothing is left to allocate (`ErrFull`).
    #[error("range is full")]
    Full,
}

/// Kubernetes' `calculateRangeOffset`: the size of the lower band kept for requested values,
/// `min(max(minimum, size / step), maximum)`, or nothing for ranges smaller than `minimum`.
fn static_band(size: u64, minimum: u64, step: u64, maximum: u64) -> usize {
    if size < minimum { 0 } else { (size / step).clamp(minimum, maximum) as usize }
}

/// Cluster IPs: every address of the service CIDR but its network and broadcast addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterIpRange {
    cidr: Ipv4Cidr,
    bitmap: Bitmap,
    static_band: usize,
}

impl ClusterIpRange {
    /// The range of a service CIDR, all free. The static band is `min(max(16, size/16), 256)`
    /// addresses, as Kubernetes 1.32 (`ServiceIPStaticSubrange`).
    pub fn new(cidr: Ipv4Cidr) -> ClusterIpRange {
        let usable = cidr.size().saturating_sub(2);
        ClusterIpRange {
            cidr,
            bitmap: Bitmap::new(usable as usize),
            static_band: static_band(cidr.size(), 16, 16, 256),
        }
    }

    /// The service CIDR.
    pub fn cidr(&self) -> Ipv4Cidr {
        self.cidr
    }

    /// How many addresses are free.
    pub fn free(&self) -> usize {
        self.bitmap.free()
    }

    fn offset(&self, ip: Ipv4Addr) -> Result<usize, RangeError> {
        let not_in_range = RangeError::IpNotInRange { ip, range: self.cidr };
        let offset = self.cidr.offset_of(ip).ok_or(not_in_range.clone())?;
        if offset == 0 || offset as usize > self.bitmap.size() {
            return Err(not_in_range);
        }
        Ok(offset as usize - 1)
    }

    /// Whether `ip` is allocated.
    pub fn has(&self, ip: Ipv4Addr) -> bool {
        self.offset(ip).is_ok_and(|offset| self.bitmap.has(offset))
    }

    /// Allocates the requested `ip`.
    pub fn allocate(&mut self, ip: Ipv4Addr) -> Result<(), RangeError> {
        let offset = self.offset(ip)?;
        if self.bitmap.allocate(offset) { Ok(()) } else { Err(RangeError::IpAllocated) }
    }

    /// Allocates the lowest free address above the static band, else the lowest free one.
    pub fn allocate_next(&mut self) -> Result<Ipv4Addr, RangeError> {
        let offset = self.bitmap.allocate_next(self.static_band).ok_or(RangeError::Full)?;
        Ok(self.cidr.address_at(offset as u64 + 1).expect("a bitmap offset lies inside the CIDR"))
    }

    /// Frees `ip`; freeing an address that is free or out of range does nothing.
    pub fn release(&mut self, ip: Ipv4Addr) {
        if let Ok(offset) = self.offset(ip) {
            self.bitmap.release(offset);
        }
    }
}

/// Node ports: every port of the node port range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodePortRange {
    first: i32,
    last: i32,
    bitmap: Bitmap,
    static_band: usize,
}

impl NodePortRange {
    /// The range of ports `ports`, all free. The static band is `min(max(16, size/32), 128)`
    /// ports, as Kubernetes 1.32 (`ServiceNodePortStaticSubrange`).
    pub fn new(ports: RangeInclusive<i32>) -> NodePortRange {
        let (first, last) = (*ports.start(), *ports.end());
        let size = (i64::from(last) - i64::from(first) + 1).max(0) as u64;
        NodePortRange { first, last, bitmap: Bitmap::new(size as usize), static_band: static_band(size, 16, 32, 128) }
    }

    /// How many ports are free.
    pub fn free(&self) -> usize {
        self.bitmap.free()
    }

    fn offset(&self, port: i32) -> Result<usize, RangeError> {
        if (self.first..=self.last).contains(&port) {
            Ok((port - self.first) as usize)
        } else {
            Err(RangeError::PortNotInRange { first: self.first, last: self.last })
        }
    }

    /// Whether `port` is allocated.
    pub fn has(&self, port: i32) -> bool {
        self.offset(port).is_ok_and(|offset| self.bitmap.has(offset))
    }

    /// Allocates the requested `port`.
    pub fn allocate(&mut self, port: i32) -> Result<(), RangeError> {
        let offset = self.offset(port)?;
        if self.bitmap.allocate(offset) { Ok(()) } else { Err(RangeError::PortAllocated) }
    }

    /// Allocates the lowest free port above the static band, else the lowest free one.
    pub fn allocate_next(&mut self) -> Result<i32, RangeError> {
        let offset = self.bitmap.allocate_next(self.static_band).ok_or(RangeError::Full)?;
        Ok(self.first + offset as i32)
    }

    /// Frees `port`; freeing a port that is free or out of range does nothing.
    pub fn release(&mut self, port: i32) {
        if let Ok(offset) = self.offset(port) {
            self.bitmap.release(offset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    // From ipallocator's TestAllocate: a /28 has 14 usable addresses, the network and broadcast
    // addresses are out of range, and a full range says so.
    #[test]
    fn a_slash_28_holds_fourteen_addresses() {
        let mut range = ClusterIpRange::new("192.168.1.0/28".parse().unwrap());
        assert_eq!(range.free(), 14);
        for _ in 0..14 {
            range.allocate_next().unwrap();
        }
        assert_eq!(range.allocate_next(), Err(RangeError::Full));
        let out = range.allocate(ip("192.168.1.0")).unwrap_err();
        assert_eq!(
            out.to_string(),
            "the provided IP (192.168.1.0) is not in the valid range. The range of valid IPs is 192.168.1.0/28"
        );
        assert!(matches!(range.allocate(ip("192.168.1.15")), Err(RangeError::IpNotInRange { .. })));
        assert_eq!(range.allocate(ip("192.168.1.1")), Err(RangeError::IpAllocated));
        range.release(ip("192.168.1.5"));
        assert_eq!(range.allocate_next(), Ok(ip("192.168.1.5")));
    }

    #[test]
    fn the_default_service_cidr_keeps_256_addresses_for_requests() {
        let mut range = ClusterIpRange::new("10.96.0.0/12".parse().unwrap());
        assert_eq!(range.free(), (1 << 20) - 2);
        assert_eq!(range.allocate_next(), Ok(ip("10.96.1.1")));
        assert!(range.allocate(ip("10.96.0.10")).is_ok());
        assert!(range.has(ip("10.96.0.10")));
    }

    // From portallocator's TestAllocate: every port of the range once, then full.
    #[test]
    fn node_ports_run_out_after_every_port_of_the_range() {
        let mut range = NodePortRange::new(10000..=10200);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..201 {
            assert!(seen.insert(range.allocate_next().unwrap()));
        }
        assert_eq!(range.allocate_next(), Err(RangeError::Full));
        assert_eq!(range.allocate(10001), Err(RangeError::PortAllocated));
        assert_eq!(
            range.allocate(20000).unwrap_err().to_string(),
            "provided port is not in the valid range. The range of valid ports is 10000-10200"
        );
    }

    #[test]
    fn the_default_node_port_range_keeps_86_ports_for_requests() {
        let mut range = NodePortRange::new(30000..=32767);
        assert_eq!(range.allocate_next(), Ok(30086));
    }
}
