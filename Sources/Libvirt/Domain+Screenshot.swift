internal import CLibvirt
import Foundation

extension Domain {
    /// A picture of the domain's display `screen` as the hypervisor takes it
    /// (`virDomainScreenshot`): qemu gives a PPM (`image/x-portable-pixmap`), the test driver
    /// a canned PNG. The whole image is read through a stream on a libvirt thread.
    public func screenshot(screen: UInt32 = 0) async throws(LibvirtError) -> (mimeType: String, data: [UInt8]) {
        let connection = self.connection
        return try await run { pointer throws(LibvirtError) in
            let stream = try Stream(connection: connection.pointer)
            let mime: String
            do throws(LibvirtError) {
                mime = try takeString(virDomainScreenshot(pointer, stream.pointer, screen, 0))
            } catch {
                stream.abort()
                throw error
            }
            let data = try stream.transfer { stream throws(LibvirtError) in try stream.receiveAll() }
            return (mimeType: mime, data: data)
        }
    }
}
