//! Files of the host, through semihosting (QEMU runs with `-semihosting-config enable=on,target=native`): the TLS
//! firmware reads its certificates and key from QEMU's working directory, as a device reads them from its flash or
//! secure element, and its random seed from `/dev/urandom`, where a device uses its hardware generator. So the
//! firmware is built once, whatever the certificates the test generates.

use core::ffi::CStr;

use cortex_m_semihosting::{nr, syscall};

/// An open host file, closed on drop.
struct File(usize);

impl File {
    fn open(path: &CStr) -> Result<Self, &'static str> {
        // SAFETY: SYS_OPEN reads `count_bytes` bytes of the path, which lives through the call.
        let handle =
            unsafe { syscall!(OPEN, path.as_ptr(), nr::open::R_BINARY, path.count_bytes()) };
        match handle as isize {
            -1 => Err("cannot open a host file"),
            _ => Ok(Self(handle)),
        }
    }

    /// Reads up to `buf.len()` bytes; how many.
    fn read(&self, buf: &mut [u8]) -> usize {
        // SAFETY: SYS_READ writes at most `buf.len()` bytes into `buf`, and returns how many it did NOT read.
        let left = unsafe { syscall!(READ, self.0, buf.as_mut_ptr(), buf.len()) };
        buf.len().saturating_sub(left)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // SAFETY: closes the handle SYS_OPEN returned, once.
        unsafe { syscall!(CLOSE, self.0) };
    }
}

/// The whole host file at `path` (relative to QEMU's working directory), read into `buf`.
pub fn read<'b>(path: &CStr, buf: &'b mut [u8]) -> Result<&'b [u8], &'static str> {
    let file = File::open(path)?;
    let n = file.read(buf);
    if n == buf.len() {
        return Err("a host file is larger than its buffer");
    }
    Ok(&buf[..n])
}

/// `N` bytes from the host's `/dev/urandom`.
pub fn random<const N: usize>() -> Result<[u8; N], &'static str> {
    let file = File::open(c"/dev/urandom")?;
    let mut bytes = [0; N];
    match file.read(&mut bytes) {
        n if n == N => Ok(bytes),
        _ => Err("/dev/urandom gave too few bytes"),
    }
}
