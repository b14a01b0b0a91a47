//! A ring of samples allocated whole at its capacity when made: pushing into a full one
//! overwrites the oldest, so it never grows (and has no growing code).

#[derive(Debug)]
pub(crate) struct Ring<T> {
    slots: Box<[T]>,
    /// The oldest sample's slot (0 until the ring is full), and the samples held.
    head: usize,
    len: usize,
}

impl<T: Copy + Default> Ring<T> {
    pub fn new(capacity: usize) -> Ring<T> {
        Ring {
            slots: vec![T::default(); capacity].into_boxed_slice(),
            head: 0,
            len: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Add `item` as the newest, over the oldest when full.
    pub fn push(&mut self, item: T) {
        let capacity = self.capacity();
        if capacity == 0 {
            return;
        }
        self.slots[(self.head + self.len) % capacity] = item;
        if self.len < capacity {
            self.len += 1;
        } else {
            self.head = (self.head + 1) % capacity;
        }
    }

    /// Oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        let (newer, older) = self.slots.split_at(self.head);
        older.iter().chain(newer).take(self.len)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        let (newer, older) = self.slots.split_at_mut(self.head);
        older.iter_mut().chain(newer).take(self.len)
    }

    pub fn back(&self) -> Option<&T> {
        self.iter().last()
    }

    pub fn back_mut(&mut self) -> Option<&mut T> {
        self.iter_mut().last()
    }
}

/// Rings of the same capacity holding the same samples are equal, wherever their head is.
impl<T: Copy + Default + PartialEq> PartialEq for Ring<T> {
    fn eq(&self, other: &Ring<T>) -> bool {
        self.capacity() == other.capacity() && self.iter().eq(other.iter())
    }
}
