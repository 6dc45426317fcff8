//! The lm3s6965evb as QEMU emulates it: UART0 (a PL011 with its FIFOs on) as an `embedded_io_async` stream, and
//! an embassy-time driver counting SysTick interrupts. Shared with the size firmwares in `sizes/`.
//!
//! Both are polled: a read with an empty receive FIFO, a write with a full transmit FIFO and a timer not yet due
//! wake their task at once, so the executor keeps polling instead of sleeping. QEMU pushes bytes from the TCP
//! socket into the receive FIFO only while it has room, so nothing is lost while the firmware is busy.

use core::convert::Infallible;
use core::future::poll_fn;
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::{Poll, Waker};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use embedded_io_async::{ErrorType, Read, Write};

const UART0: usize = 0x4000_C000;
const DR: usize = 0x000;
const FR: usize = 0x018;
const LCRH: usize = 0x02C;
const CR: usize = 0x030;
/// Flag register: receive FIFO empty, transmit FIFO full.
const FR_RXFE: u32 = 1 << 4;
const FR_TXFF: u32 = 1 << 5;
/// Line control: FIFOs enabled, 8 data bits.
const LCRH_FEN_8BIT: u32 = (1 << 4) | (0b11 << 5);
/// Control: UART, transmitter and receiver enabled.
const CR_ENABLE: u32 = 1 | (1 << 8) | (1 << 9);

/// The core clock of QEMU's lm3s6965evb after reset (200 MHz / 16).
const CORE_HZ: u32 = 12_500_000;

fn read(offset: usize) -> u32 {
    // SAFETY: a PL011 register of UART0, which this module alone uses.
    unsafe { core::ptr::read_volatile((UART0 + offset) as *const u32) }
}

fn write(offset: usize, value: u32) {
    // SAFETY: as in `read`.
    unsafe { core::ptr::write_volatile((UART0 + offset) as *mut u32, value) }
}

/// UART0 as a byte stream.
pub struct Uart(());

impl Uart {
    /// Sets UART0 up: 8 data bits, FIFOs on, receiver and transmitter enabled (QEMU ignores the baud rate).
    pub fn new() -> Self {
        write(CR, 0);
        write(LCRH, LCRH_FEN_8BIT);
        write(CR, CR_ENABLE);
        Self(())
    }
}

impl ErrorType for Uart {
    type Error = Infallible;
}

impl Read for Uart {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_fn(|cx| {
            let mut n = 0;
            for byte in buf.iter_mut() {
                if read(FR) & FR_RXFE != 0 {
                    break;
                }
                *byte = read(DR) as u8;
                n += 1;
            }
            if n == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(Ok(n))
        })
        .await
    }
}

impl Write for Uart {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_fn(|cx| {
            let mut n = 0;
            for &byte in buf {
                if read(FR) & FR_TXFF != 0 {
                    break;
                }
                write(DR, u32::from(byte));
                n += 1;
            }
            if n == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(Ok(n))
        })
        .await
    }

    async fn flush(&mut self) -> Result<(), Infallible> {
        // QEMU sends what is written to the data register at once.
        Ok(())
    }
}

static MILLIS: AtomicU32 = AtomicU32::new(0);

#[cortex_m_rt::exception]
fn SysTick() {
    MILLIS.fetch_add(1, Ordering::Relaxed);
}

/// Starts SysTick at 1 kHz: the time base of embassy-time.
pub fn start_clock(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CORE_HZ / 1000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

struct SysTickDriver;

impl embassy_time_driver::Driver for SysTickDriver {
    fn now(&self) -> u64 {
        u64::from(MILLIS.load(Ordering::Relaxed))
    }

    fn schedule_wake(&self, _at: u64, waker: &Waker) {
        // Polled: the timer checks the time again at its next poll.
        waker.wake_by_ref();
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver);

unsafe extern "C" {
    /// cortex-m-rt's lowest address the stack may reach: the end of the statics.
    static _stack_end: u32;
    /// cortex-m-rt's initial stack pointer: the top of RAM.
    static _stack_start: u32;
}

/// What [`paint_stack`] writes below the stack pointer, to find later how deep the stack went.
const PAINT: u32 = 0x5AC3_3CA5;

/// Paints the free stack (between the statics and a little below the current stack pointer); call it first.
#[allow(dead_code)] // The size firmwares do not measure their stack.
pub fn paint_stack() {
    let bottom = core::ptr::addr_of!(_stack_end) as usize;
    let top = cortex_m::register::msp::read() as usize - 64;
    for word in (bottom..top).step_by(4) {
        // SAFETY: memory between the statics and the stack pointer belongs to nothing yet.
        unsafe { core::ptr::write_volatile(word as *mut u32, PAINT) };
    }
}

/// The most stack used since [`paint_stack`], in bytes (the whole free stack if it ran over).
#[allow(dead_code)] // The size firmwares do not measure their stack.
pub fn stack_peak() -> usize {
    let bottom = core::ptr::addr_of!(_stack_end) as usize;
    let top = core::ptr::addr_of!(_stack_start) as usize;
    let untouched = (bottom..top)
        .step_by(4)
        // SAFETY: reads of RAM words, painted or used by the stack.
        .take_while(|&word| unsafe { core::ptr::read_volatile(word as *const u32) } == PAINT)
        .count();
    top - bottom - 4 * untouched
}

/// The stack the firmware can use: RAM above the statics.
#[allow(dead_code)] // The size firmwares do not measure their stack.
pub fn stack_size() -> usize {
    core::ptr::addr_of!(_stack_start) as usize - core::ptr::addr_of!(_stack_end) as usize
}

/// Ends the emulation through semihosting: exit status 0 on success, 1 on failure.
pub fn exit(success: bool) -> ! {
    cortex_m_semihosting::debug::exit(if success {
        cortex_m_semihosting::debug::EXIT_SUCCESS
    } else {
        cortex_m_semihosting::debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}
