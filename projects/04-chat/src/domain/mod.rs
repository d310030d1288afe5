//! Types that can only hold valid data. Frames and requests are parsed into them once, at the
//! edge; everything after that trusts them.

mod names;
pub mod text;

pub use names::{GuestName, RoomName, UserKey};
pub use text::{ClientId, MessageText, mentions};
