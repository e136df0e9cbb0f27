use dragnet_core::{FileError, Parsed};

pub fn parse(_input: &[u8]) -> Result<Parsed, FileError> {
    Ok(Parsed::default())
}
