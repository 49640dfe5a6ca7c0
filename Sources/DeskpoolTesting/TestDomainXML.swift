import DeskpoolLibvirt
import FoundationXML

/// Domain XML for tests.
public enum TestDomainXML {
    /// A small domain with a qcow2 disk, SPICE graphics on 127.0.0.1 (autoport), QXL video
    /// and a guest agent channel. `type` is `qemu` (TCG), `kvm` or `test`.
    ///
    /// The display gets a random initial password: qemu starts SPICE with ticketing disabled
    /// when the definition has none, and then refuses every later live password change
    /// ("Could not set password").
    ///
    /// With `smbiosProduct`, the guest finds that text as its SMBIOS product name (the tiny
    /// test guest takes it as its own name).
    public static func spiceDomain(
        name: String, type: String, diskPath: String, memoryMiB: Int = 64, smbiosProduct: String? = nil
    ) -> String {
        var os = [LibvirtXML.element("type", ["arch": "x86_64"], text: "hvm"), LibvirtXML.element("boot", ["dev": "hd"])]
        var sysinfo: [XMLElement] = []
        if let smbiosProduct {
            os.append(LibvirtXML.element("smbios", ["mode": "sysinfo"]))
            sysinfo = [LibvirtXML.element("sysinfo", ["type": "smbios"], [
                LibvirtXML.element("system", [:], [LibvirtXML.element("entry", ["name": "product"], text: smbiosProduct)]),
            ])]
        }
        return LibvirtXML.element("domain", ["type": type], [
            LibvirtXML.element("name", text: name),
            LibvirtXML.element("memory", ["unit": "MiB"], text: String(memoryMiB)),
            LibvirtXML.element("vcpu", text: "1"),
        ] + sysinfo + [
            LibvirtXML.element("os", [:], os),
            LibvirtXML.element("devices", [:], [
                LibvirtXML.element("disk", ["type": "file", "device": "disk"], [
                    LibvirtXML.element("driver", ["name": "qemu", "type": "qcow2"]),
                    LibvirtXML.element("source", ["file": diskPath]),
                    LibvirtXML.element("target", ["dev": "vda", "bus": "virtio"]),
                ]),
                LibvirtXML.element("graphics", ["type": "spice", "autoport": "yes", "passwd": randomPassword()], [
                    LibvirtXML.element("listen", ["type": "address", "address": "127.0.0.1"]),
                ]),
                LibvirtXML.element("video", [:], [LibvirtXML.element("model", ["type": "qxl"])]),
                LibvirtXML.element("channel", ["type": "unix"], [
                    LibvirtXML.element("target", ["type": "virtio", "name": "org.qemu.guest_agent.0"]),
                ]),
            ]),
        ]).xmlString
    }

    /// 128 random bits as hex.
    static func randomPassword() -> String {
        (0..<2).map { _ in String(UInt64.random(in: .min ... .max), radix: 16) }.joined()
    }

}
