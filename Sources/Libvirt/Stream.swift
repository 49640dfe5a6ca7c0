internal import CLibvirt
import Foundation

/// A blocking libvirt data stream (`virStreamPtr`), used only on a libvirt thread for the
/// length of one transfer (a screenshot, a volume upload).
///
/// Every transfer ends with `finish()` on success or `abort()` on failure: libvirt keeps the
/// other end (the daemon's job, e.g. the upload's file) open until one of them is called.
final class Stream {
    let pointer: virStreamPtr
    private var ended = false

    /// A new blocking stream on `connection` (flags 0: calls wait instead of returning -2).
    init(connection: virConnectPtr) throws(LibvirtError) {
        pointer = try check(virStreamNew(connection, 0))
    }

    deinit {
        if !ended { virStreamAbort(pointer) }
        virStreamFree(pointer)
    }

    /// Reads until the other end finishes. `chunk` bounds each `virStreamRecv`.
    func receiveAll(chunk: Int = 256 << 10) throws(LibvirtError) -> [UInt8] {
        var data: [UInt8] = []
        var buffer = [CChar](repeating: 0, count: chunk)
        while true {
            let count = buffer.withUnsafeMutableBufferPointer { virStreamRecv(pointer, $0.baseAddress, chunk) }
            if count == 0 { return data }
            // -2 only happens on non-blocking streams; treat it like any failure.
            guard count > 0 else { throw LibvirtError.last(or: "virStreamRecv failed") }
            buffer.withUnsafeBufferPointer { bytes in
                data.append(contentsOf: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[0..<Int(count)])))
            }
        }
    }

    /// Sends everything readable from `descriptor`, in chunks of `chunk` bytes. Returns the
    /// number of bytes sent.
    @discardableResult
    func sendAll(from descriptor: Int32, path: String, chunk: Int = 1 << 20) throws(LibvirtError) -> UInt64 {
        var buffer = [CChar](repeating: 0, count: chunk)
        var total: UInt64 = 0
        while true {
            let read = buffer.withUnsafeMutableBufferPointer { Foundation.read(descriptor, $0.baseAddress, chunk) }
            if read == 0 { return total }
            if read < 0 {
                if errno == EINTR { continue }
                throw LibvirtError(code: .systemError, message: "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            // virStreamSend may take less than offered: send the rest of the chunk.
            var offset = 0
            while offset < read {
                let sent = buffer.withUnsafeBufferPointer { virStreamSend(pointer, $0.baseAddress! + offset, read - offset) }
                guard sent > 0 else { throw LibvirtError.last(or: "virStreamSend failed") }
                offset += Int(sent)
            }
            total += UInt64(read)
        }
    }

    /// Completes the transfer; the other end reports its own errors here (e.g. a failed write).
    func finish() throws(LibvirtError) {
        ended = true
        try check(virStreamFinish(pointer))
    }

    /// Cancels the transfer (best effort: the stream is being given up anyway).
    func abort() {
        guard !ended else { return }
        ended = true
        virStreamAbort(pointer)
    }

    /// Runs `body`, then finishes the stream; aborts it if `body` throws.
    func transfer<T>(_ body: (Stream) throws(LibvirtError) -> T) throws(LibvirtError) -> T {
        let result: T
        do throws(LibvirtError) {
            result = try body(self)
        } catch {
            abort()
            throw error
        }
        try finish()
        return result
    }
}
