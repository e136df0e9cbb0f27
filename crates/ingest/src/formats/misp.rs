use dragnet_core::{FileError, Parsed};

pub fn parse(_input: &[u8]) -> Result<Parsed, FileError> {
    Ok(Parsed::default())
}

pub fn feed_event_files(_manifest: &[u8]) -> Result<Vec<String>, FileError> {
    Ok(Vec::new())
}
