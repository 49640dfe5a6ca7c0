import NIOCore

/// Socket settings both connections of a tunnel get.
enum TunnelSocketOptions {
    /// Reads grow up to 256 KiB (NIO's default stops at 64 KiB), so a display stream moves in
    /// fewer, larger reads and writes; an idle channel shrinks back to small buffers. They
    /// start at 2 KiB: each channel keeps its read buffer, and thousands of idle consoles
    /// (8 tunnels, 16 channels each) held 16 KiB per channel from the first read
    /// (scripts/bench-gateway --capacity: 55 KiB per tunnel).
    static var receiveAllocator: AdaptiveRecvByteBufferAllocator {
        AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 2 * 1024, maximum: 256 * 1024)
    }

    /// What may queue towards one side before the glue stops reading the other: enough to keep
    /// a fast display stream flowing, and the bound on what a slow client makes the gateway
    /// hold per tunnel (plus at most one read).
    static let writeBufferWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 128 * 1024, high: 512 * 1024)
}
