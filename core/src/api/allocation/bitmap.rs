//! [`Bitmap`]: a contiguous block of offsets that are each free or allocated, as Kubernetes'
//! `AllocationBitmap`, with the deterministic lowest-free choice this project uses in place of
//! Kubernetes' random scan.

/// One bit per offset in `0..size`; a set bit is allocated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitmap {
    words: Vec<u64>,
    size: usize,
    count: usize,
}

impl Bitmap {
    /// A bitmap of `size` free offsets.
    pub fn new(size: usize) -> Bitmap {
        Bitmap { words: vec![0; size.div_ceil(64)], size, count: 0 }
    }

    /// How many offsets the bitmap holds.
    pub fn size(&self) -> usize {
        self.size
    }

    /// How many offsets are free.
    pub fn free(&self) -> usize {
        self.size - self.count
    }

    /// Whether `offset` is allocated (offsets out of range never are).
    pub fn has(&self, offset: usize) -> bool {
        offset < self.size && self.words[offset / 64] & (1 << (offset % 64)) != 0
    }

    /// Allocates `offset`; false if it was already allocated or is out of range.
    pub fn allocate(&mut self, offset: usize) -> bool {
        if offset >= self.size || self.has(offset) {
            return false;
        }
        self.words[offset / 64] |= 1 << (offset % 64);
        self.count += 1;
        true
    }

    /// Frees `offset`; freeing a free or out-of-range offset does nothing, as in Kubernetes.
    pub fn release(&mut self, offset: usize) {
        if self.has(offset) {
            self.words[offset / 64] &= !(1 << (offset % 64));
            self.count -= 1;
        }
    }

    /// Allocates the lowest free offset at or above `static_band` (the dynamic band), or if that
    /// band is full the lowest free one below it: Kubernetes' `ServiceIPStaticSubrange` keeps
    /// the lower band for addresses users ask for, and this keeps the same preference.
    pub fn allocate_next(&mut self, static_band: usize) -> Option<usize> {
        let band = static_band.min(self.size);
        let offset = self.lowest_free(band, self.size).or_else(|| self.lowest_free(0, band))?;
        self.allocate(offset);
        Some(offset)
    }

    fn lowest_free(&self, start: usize, end: usize) -> Option<usize> {
        let mut offset = start;
        while offset < end {
            let word = self.words[offset / 64] | ((1u64 << (offset % 64)) - 1);
            if word == u64::MAX {
                offset = (offset / 64 + 1) * 64;
                continue;
            }
            let found = (offset / 64) * 64 + word.trailing_ones() as usize;
            return (found < end).then_some(found);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocating_an_offset_twice_fails_the_second_time() {
        let mut bitmap = Bitmap::new(100);
        assert!(bitmap.allocate(7));
        assert!(!bitmap.allocate(7));
        assert_eq!(bitmap.free(), 99);
        bitmap.release(7);
        bitmap.release(7);
        assert_eq!(bitmap.free(), 100);
        assert!(!bitmap.allocate(100));
    }

    #[test]
    fn next_prefers_the_dynamic_band_then_fills_the_static_band() {
        let mut bitmap = Bitmap::new(130);
        let dynamic: Vec<usize> = (0..66).map(|_| bitmap.allocate_next(64).unwrap()).collect();
        assert_eq!(dynamic, (64..130).collect::<Vec<_>>());
        assert_eq!(bitmap.allocate_next(64), Some(0));
        assert!(bitmap.allocate(1));
        assert_eq!(bitmap.allocate_next(64), Some(2));
        while bitmap.allocate_next(64).is_some() {}
        assert_eq!(bitmap.free(), 0);
    }

    #[test]
    fn a_released_offset_is_chosen_again_first() {
        let mut bitmap = Bitmap::new(300);
        for _ in 0..200 {
            bitmap.allocate_next(0);
        }
        bitmap.release(70);
        assert_eq!(bitmap.allocate_next(0), Some(70));
        assert_eq!(bitmap.allocate_next(0), Some(200));
    }
}
