//! `words!`: an enum whose values are configuration words, declared once with both
//! conversions (the variant's word, and the variant a word names), and the list of words
//! the option table (`config::spec`) shows and accepts.

macro_rules! words {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $word:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every word, in declaration order.
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            pub const fn word(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }

            pub fn from_word(word: &str) -> Option<Self> {
                match word {
                    $($word => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl $crate::words::Word for $name {
            fn from_word(word: &str) -> Option<Self> {
                $name::from_word(word)
            }
        }
    };
}

pub(crate) use words;

/// An enum declared with `words!`, for code generic over them (`config::options::word`).
pub trait Word: Sized {
    fn from_word(word: &str) -> Option<Self>;
}
