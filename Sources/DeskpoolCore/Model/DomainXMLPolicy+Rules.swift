/// The rules of `DomainXMLPolicy`: first the known ways to the host, each with its reason;
/// then the allowlist of what a desktop needs (what `templates/tiny-linux/domain.xml` and the
/// renderer, `DesktopDomainXML`, use, and the usual devices of a desktop VM).
///
/// Decisions:
/// - No `<disk>` at all, CD-ROMs included: Deskpool adds the desktop's disk (a linked clone);
///   any other disk opens a host file or device.
/// - Serial ports and consoles are `pty` only; channels are SPICE's (`spicevmc`) or the guest
///   agent's (`unix`, target `org.qemu.guest_agent.0`, without a path: libvirt makes it).
/// - Interfaces are `network` (a libvirt network). `user` (qemu's user-mode networking) is the
///   extra `userInterface`: through it the guest reaches the host's loopback services at
///   10.0.2.2. A host bridge is the extra `bridgeInterface`; `direct`, `hostdev`, `ethernet`,
///   `vhostuser` never.
/// - Watchdogs and `on_crash` never dump guest memory into a host directory.
/// - Firmware by libvirt's autoselection only (`<os firmware='efi'>`), never a `<loader>` or
///   `<nvram>` path; no direct kernel boot.
/// - `<tpm>` with the `emulator` backend (swtpm, state kept by libvirt) is allowed; the host's
///   own TPM (`passthrough`) is not. `<rng>` reads `/dev/urandom` only. `<seclabel>` only as
///   `type='dynamic'` with relabelling.
extension DomainXMLPolicy {
    /// Deskpool's metadata namespace (the same as `DesktopDomainXML.namespace`).
    public static let deskpoolNamespace = "https://deskpool.dev/xmlns/desktop/1"
    static let qemuNamespace = "http://libvirt.org/schemas/domain/qemu/1.0"

    /// Attribute name -> allowed values (nil: any value).
    typealias Attributes = [String: Set<String>?]

    /// Attributes that name something on the host: their refusal says so.
    static let hostAttributes: Set<String> = ["path", "file", "dev", "socket", "rendernode", "bridge", "tty", "script", "host", "service"]

    func reason(_ element: Element) -> String? {
        if let reason = namespaceReason(element) { return reason }
        if element.path.hasPrefix("domain/metadata/") { return nil }  // Deskpool's own element: the renderer replaces it
        if let reason = hazard(element) { return reason }
        var allowed = Self.allowed
        for extra in allowedExtras {
            // Two extras may widen one element: their values add up (nil: any value).
            allowed.merge(extra.elements) { a, b in a.merging(b) { x, y in x.flatMap { x in y.map { x.union($0) } } } }
        }
        guard let attributes = allowed[element.path] else {
            return "not something a desktop needs (not in Deskpool's allowlist of domain XML)"
        }
        for (name, value) in element.attributes.sorted(by: { $0.key < $1.key }) where name != "xmlns" && !name.hasPrefix("xmlns:") {
            guard let values = attributes[name] else {
                if Self.hostAttributes.contains(name) { return "'\(Self.shown(name))' names a host file, device or socket" }
                return "the attribute '\(Self.shown(name))' is not allowed here"
            }
            if let values, !values.contains(value) {
                return "\(name)='\(Self.shown(value))' is not allowed here (allowed: \(values.sorted().joined(separator: ", ")))"
            }
        }
        return nil
    }

    /// Admin text in a message, bounded.
    static func shown(_ text: String) -> String {
        text.count <= 64 ? text : String(text.prefix(64)) + "..."
    }

    // MARK: - Namespaces

    private func namespaceReason(_ element: Element) -> String? {
        func namespace(of name: String, default fallback: String?) -> String? {
            guard let colon = name.firstIndex(of: ":") else { return fallback }
            return element.namespaces[String(name[..<colon])] ?? "unbound"
        }
        func reason(_ uri: String?, _ what: String) -> String? {
            switch uri {
            case nil, "": return nil
            case Self.qemuNamespace?: return "\(what) qemu's namespace: it passes arguments, capabilities or environment to qemu on the host"
            case Self.deskpoolNamespace?:
                return element.path.hasPrefix("domain/metadata/") ? nil : "\(what) Deskpool's namespace, which belongs inside <metadata> only"
            default: return "\(what) another XML namespace (only Deskpool's, inside <metadata>)"
            }
        }
        let uri = namespace(of: element.name, default: element.namespaces[""])
        if let refused = reason(uri, "the element is in") { return refused }
        if element.path.hasPrefix("domain/metadata/"), uri != Self.deskpoolNamespace {
            return "<metadata> may hold Deskpool's own element only"
        }
        for name in element.attributes.keys.sorted() where name != "xmlns" && !name.hasPrefix("xmlns:") && name.contains(":") {
            if let refused = reason(namespace(of: name, default: nil), "the attribute '\(Self.shown(name))' is in") { return refused }
            if !element.path.hasPrefix("domain/metadata/") { return "the attribute '\(Self.shown(name))' is in another XML namespace" }
        }
        return nil
    }

    // MARK: - Known ways to the host

    private func hazard(_ e: Element) -> String? {
        let type = e["type"] ?? ""
        switch e.path {
        case "domain/devices/hostdev":
            let extra: Extra? = type == "usb" ? .usbHostdev : type == "pci" ? .pciHostdev : nil
            if let extra, allowedExtras.contains(extra), (e["mode"] ?? "subsystem") == "subsystem" { return nil }
            return "passes a host device to the guest" + (extra.map { " (a host may allow it: templates.allowedExtras: [\($0.rawValue)])" } ?? "")
        case "domain/devices/filesystem": return "shares a host directory with the guest"
        case "domain/devices/disk":
            let what = e["device"] == "cdrom" ? "a CD-ROM" : e["device"] == "floppy" ? "a floppy" : "a disk"
            return "\(what) in the pattern opens a host file or device; Deskpool adds the desktop's own disk"
        case "domain/devices/shmem": return "shares host memory with the guest"
        case "domain/devices/memory": return "adds memory backed by a host file or device"
        case "domain/devices/parallel": return "connects the guest to a host file, device or socket"
        case "domain/devices/vsock": return "opens a socket between the guest and the host"
        case "domain/devices/lease": return "takes a lock on a host file"
        case "domain/devices/emulator": return "runs a host program as the emulator"
        case "domain/devices/serial", "domain/devices/console":
            return type == "pty" ? nil : "type '\(Self.shown(type))' connects the guest to a host file, device or socket (only pty)"
        case "domain/devices/serial/log", "domain/devices/console/log", "domain/devices/channel/log": return "writes to a host file"
        case "domain/devices/channel":
            return ["spicevmc", "unix"].contains(type) ? nil
                : "type '\(Self.shown(type))' connects the guest to a host file, device or socket (only spicevmc and the guest agent's unix channel)"
        case "domain/devices/channel/source" where e.parent["type"] == "unix":
            return e["path"] == nil ? nil : "connects the guest agent channel to a chosen host socket; leave out the path (libvirt makes one)"
        case "domain/devices/channel/target" where e.parent["type"] == "unix":
            return e["name"] == "org.qemu.guest_agent.0" ? nil : "a unix channel is for the guest agent only (target name org.qemu.guest_agent.0)"
        case "domain/devices/interface":
            switch type {
            case "network": return nil
            case "user" where allowedExtras.contains(.userInterface): return nil
            case "user": return "user-mode networking lets the guest reach the host's loopback services (a host may allow it: templates.allowedExtras: [userInterface])"
            case "bridge" where allowedExtras.contains(.bridgeInterface): return nil
            case "bridge": return "attaches the guest to a host bridge (a host may allow it: templates.allowedExtras: [bridgeInterface])"
            case "direct": return "connects the guest directly to a host network device (macvtap)"
            case "hostdev": return "passes a host network device to the guest"
            case "ethernet": return "uses a host tap device and host scripts"
            case "vhostuser", "vdpa": return "connects the guest to a host socket or device"
            default: return "type '\(Self.shown(type))' reaches the host's network or sockets (only network)"
            }
        case "domain/devices/interface/script", "domain/devices/interface/downscript": return "runs a host script"
        case "domain/devices/interface/backend": return "opens host devices for the interface"
        case "domain/devices/interface/target": return "names a host network device"
        case "domain/seclabel":
            if type == "none" { return "turns off qemu's confinement (sVirt) on the host" }
            if e["relabel"] == "no" { return "relabel='no' leaves host files' labels alone: qemu could open what it was not given" }
            if type == "static" { return "runs qemu under a chosen security label" }
            return nil
        case "domain/seclabel/label", "domain/seclabel/baselabel", "domain/seclabel/imagelabel": return "sets qemu's security label on the host"
        case "domain/os/kernel", "domain/os/initrd", "domain/os/dtb", "domain/os/cmdline", "domain/os/initarg":
            return "boots from host files (direct kernel boot); a desktop boots from its disk"
        case "domain/os/loader": return "loads firmware from a host file: use <os firmware='efi'> and libvirt picks it"
        case "domain/os/nvram": return "keeps firmware variables in a host file: with <os firmware='efi'> libvirt makes them"
        case "domain/os/acpi": return "loads ACPI tables from host files"
        case "domain/os/smbios" where e["mode"] == "host": return "copies the host's SMBIOS (its serial numbers) into the guest"
        case "domain/memoryBacking/source" where type == "file": return "backs the guest's memory with a host file"
        case "domain/devices/rng/backend":
            return e["model"] == "random" ? nil : "connects the guest's entropy source to the host (only model random, /dev/urandom)"
        case "domain/devices/graphics":
            return type == "spice" ? nil : "Deskpool's consoles are SPICE; type '\(Self.shown(type))' is not allowed"
        case "domain/devices/graphics/listen" where type != "address": return "listens on a host socket or network (Deskpool sets the address)"
        case "domain/devices/graphics/gl": return "renders on a host GPU device"
        case "domain/devices/audio":
            return ["spice", "none"].contains(type) ? nil : "plays or records through the host's audio or a host file"
        case "domain/devices/input" where ["passthrough", "evdev"].contains(type): return "passes a host input device to the guest"
        case "domain/devices/smartcard" where e["mode"] == "host": return "passes the host's smartcard reader to the guest"
        case "domain/devices/smartcard" where e["mode"] == "host-certificates": return "reads certificate files on the host"
        case "domain/devices/redirdev" where type != "spicevmc": return "redirects USB through a host socket or device (only spicevmc)"
        case "domain/devices/tpm/backend" where type != "emulator": return "passes the host's TPM to the guest (only the emulator backend)"
        case "domain/devices/watchdog" where e["action"] == "dump": return "dumps guest memory into a host directory"
        case "domain/sysinfo" where type != "smbios": return "reads host files into the guest (only type smbios)"
        default: return nil
        }
    }

    /// Text the allowlist checks: the rng's device, and the lifecycle actions (a core dump
    /// writes guest memory into a host directory).
    static func textReason(path: String, text: String) -> String? {
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        switch path {
        case "domain/devices/rng/backend":
            return value.isEmpty || value == "/dev/urandom" ? nil : "reads a host device other than /dev/urandom"
        case "domain/on_poweroff", "domain/on_reboot", "domain/on_crash":
            return value.hasPrefix("coredump") ? "dumps guest memory into a host directory" : nil
        default:
            return nil
        }
    }

    // MARK: - The allowlist

    /// A device's guest-side address (on the guest's buses, not the host's).
    private static let address: Attributes = [
        "type": nil, "domain": nil, "bus": nil, "slot": nil, "function": nil, "multifunction": nil, "controller": nil,
        "target": nil, "unit": nil, "port": nil, "iobase": nil, "irq": nil,
    ]

    /// Elements by path (`domain/...`) with their attributes.
    static let allowed: [String: Attributes] = {
        var table: [String: Attributes] = [
            "domain": ["type": ["kvm", "qemu", "test"], "id": nil],
            "domain/name": [:], "domain/uuid": [:], "domain/title": [:], "domain/description": [:], "domain/genid": [:], "domain/metadata": [:],
            "domain/memory": ["unit": nil], "domain/currentMemory": ["unit": nil], "domain/maxMemory": ["unit": nil, "slots": nil],
            "domain/vcpu": ["placement": ["static", "auto"], "current": nil],
            // Per-vCPU hotplug state (libvirt writes it back on define; the renderer drops it).
            "domain/vcpus": [:], "domain/vcpus/vcpu": ["id": nil, "enabled": ["yes", "no"], "hotpluggable": ["yes", "no"], "order": nil],
            "domain/memoryBacking": [:], "domain/memoryBacking/source": ["type": ["anonymous", "memfd"]],
            "domain/memoryBacking/access": ["mode": ["shared", "private"]], "domain/memoryBacking/allocation": ["mode": nil, "threads": nil],
            "domain/memoryBacking/discard": [:], "domain/memoryBacking/nosharepages": [:], "domain/memoryBacking/hugepages": [:],
            "domain/memoryBacking/hugepages/page": ["size": nil, "unit": nil, "nodeset": nil],
            "domain/sysinfo": ["type": ["smbios"]],
            "domain/os": ["firmware": ["efi", "bios"]], "domain/os/type": ["arch": nil, "machine": nil],
            "domain/os/boot": ["dev": ["hd", "cdrom", "network", "fd"]], "domain/os/bootmenu": ["enable": nil, "timeout": nil],
            "domain/os/smbios": ["mode": ["sysinfo", "emulate"]], "domain/os/bios": ["useserial": nil, "rebootTimeout": nil],
            "domain/os/firmware": [:], "domain/os/firmware/feature": ["enabled": nil, "name": nil],
            "domain/features": [:], "domain/features/hyperv": ["mode": nil], "domain/features/kvm": [:],
            "domain/cpu": ["mode": ["host-model", "host-passthrough", "custom", "maximum"], "match": nil, "check": nil, "migratable": nil],
            "domain/cpu/model": ["fallback": nil, "vendor_id": nil], "domain/cpu/vendor": [:],
            "domain/cpu/topology": ["sockets": nil, "dies": nil, "clusters": nil, "cores": nil, "threads": nil],
            "domain/cpu/feature": ["policy": nil, "name": nil], "domain/cpu/cache": ["level": nil, "mode": nil],
            "domain/clock": ["offset": nil, "adjustment": nil, "timezone": nil, "basis": nil],
            "domain/clock/timer": ["name": nil, "present": nil, "tickpolicy": nil, "track": nil, "frequency": nil, "mode": nil],
            "domain/clock/timer/catchup": ["threshold": nil, "slew": nil, "limit": nil],
            "domain/on_poweroff": [:], "domain/on_reboot": [:], "domain/on_crash": [:], "domain/on_lockfailure": [:],
            "domain/pm": [:], "domain/pm/suspend-to-mem": ["enabled": nil], "domain/pm/suspend-to-disk": ["enabled": nil],
            "domain/seclabel": ["type": ["dynamic"], "model": nil, "relabel": ["yes"]],
            "domain/devices": [:],
            "domain/devices/graphics": [
                "type": ["spice"], "autoport": nil, "port": nil, "tlsPort": nil, "listen": nil, "passwd": nil, "passwdValidTo": nil,
                "connected": nil, "keymap": nil, "defaultMode": nil,
            ],
            "domain/devices/graphics/listen": ["type": ["address"], "address": nil],
            "domain/devices/graphics/channel": ["name": nil, "mode": nil], "domain/devices/graphics/image": ["compression": nil],
            "domain/devices/graphics/jpeg": ["compression": nil], "domain/devices/graphics/zlib": ["compression": nil],
            "domain/devices/graphics/playback": ["compression": nil], "domain/devices/graphics/streaming": ["mode": nil],
            "domain/devices/graphics/clipboard": ["copypaste": nil], "domain/devices/graphics/mouse": ["mode": nil],
            "domain/devices/graphics/filetransfer": ["enable": nil],
            "domain/devices/video": [:],
            "domain/devices/video/model": [
                "type": ["qxl", "virtio", "vga", "cirrus", "bochs", "ramfb", "none"], "ram": nil, "vram": nil, "vram64": nil,
                "vgamem": nil, "heads": nil, "primary": nil,
            ],
            // 3D needs SPICE's <gl> with a host render node, which stays refused; the renderer
            // drops this element (desktops get QXL).
            "domain/devices/video/model/acceleration": ["accel3d": ["yes", "no"], "accel2d": ["yes", "no"]],
            "domain/devices/sound": ["model": nil], "domain/devices/sound/codec": ["type": nil], "domain/devices/sound/audio": ["id": nil],
            "domain/devices/audio": ["id": nil, "type": ["spice", "none"]],
            "domain/devices/input": ["type": ["tablet", "mouse", "keyboard"], "bus": ["usb", "ps2", "virtio"]],
            "domain/devices/memballoon": ["model": nil, "autodeflate": nil, "freePageReporting": nil], "domain/devices/memballoon/stats": ["period": nil],
            "domain/devices/rng": ["model": ["virtio"]], "domain/devices/rng/backend": ["model": ["random"]],
            "domain/devices/rng/rate": ["bytes": nil, "period": nil],
            "domain/devices/controller": [
                "type": ["usb", "pci", "virtio-serial", "sata", "ide", "scsi", "ccid", "fdc"], "index": nil, "model": nil, "ports": nil, "vectors": nil,
            ],
            "domain/devices/controller/driver": ["queues": nil, "cmd_per_lun": nil, "max_sectors": nil, "ioeventfd": nil],
            "domain/devices/controller/master": ["startport": nil], "domain/devices/controller/model": ["name": nil],
            "domain/devices/controller/target": ["chassisNr": nil, "chassis": nil, "port": nil, "busNr": nil, "index": nil, "hotplug": nil],
            "domain/devices/controller/pcihole64": ["unit": nil],
            "domain/devices/channel": ["type": ["spicevmc", "unix"]], "domain/devices/channel/source": ["mode": ["bind"]],
            "domain/devices/channel/target": ["type": ["virtio"], "name": nil, "state": nil],
            "domain/devices/serial": ["type": ["pty"]], "domain/devices/serial/target": ["type": nil, "port": nil],
            "domain/devices/serial/target/model": ["name": nil],
            "domain/devices/console": ["type": ["pty"]], "domain/devices/console/target": ["type": nil, "port": nil],
            "domain/devices/redirdev": ["bus": ["usb"], "type": ["spicevmc"]],
            "domain/devices/redirfilter": [:],
            "domain/devices/redirfilter/usbdev": ["class": nil, "vendor": nil, "product": nil, "version": nil, "allow": nil],
            "domain/devices/smartcard": ["mode": ["passthrough"], "type": ["spicevmc"]],
            "domain/devices/interface": ["type": ["network"], "trustGuestRxFilters": nil],
            "domain/devices/interface/source": ["network": nil, "portgroup": nil], "domain/devices/interface/mac": ["address": nil],
            "domain/devices/interface/model": ["type": nil], "domain/devices/interface/link": ["state": nil],
            "domain/devices/interface/boot": ["order": nil],
            "domain/devices/interface/driver": ["name": ["qemu", "vhost"], "queues": nil, "txmode": nil, "rx_queue_size": nil, "tx_queue_size": nil],
            "domain/devices/interface/filterref": ["filter": nil], "domain/devices/interface/filterref/parameter": ["name": nil, "value": nil],
            "domain/devices/interface/bandwidth": [:],
            "domain/devices/interface/bandwidth/inbound": ["average": nil, "peak": nil, "burst": nil, "floor": nil],
            "domain/devices/interface/bandwidth/outbound": ["average": nil, "peak": nil, "burst": nil],
            "domain/devices/watchdog": ["model": nil, "action": nil], "domain/devices/panic": ["model": nil],
            "domain/devices/tpm": ["model": ["tpm-tis", "tpm-crb"]], "domain/devices/tpm/backend": ["type": ["emulator"], "version": nil],
            "domain/devices/hub": ["type": ["usb"]],
        ]
        for section in ["bios", "system", "baseBoard", "chassis", "oemStrings"] {
            table["domain/sysinfo/\(section)"] = [:]
            table["domain/sysinfo/\(section)/entry"] = ["name": nil]
        }
        for feature in ["acpi", "apic", "pae", "hap", "privnet", "viridian", "pvspinlock", "vmport", "smm", "vmcoreinfo", "pmu", "ioapic", "htm"] {
            table["domain/features/\(feature)"] = ["state": nil, "eoi": nil, "driver": nil]
        }
        for enlightenment in ["relaxed", "vapic", "spinlocks", "vpindex", "runtime", "synic", "stimer", "reset", "vendor_id",
                              "frequencies", "reenlightenment", "tlbflush", "ipi", "evmcs", "avic"] {
            table["domain/features/hyperv/\(enlightenment)"] = ["state": nil, "retries": nil, "value": nil]
        }
        table["domain/features/hyperv/stimer/direct"] = ["state": nil]
        for hint in ["hidden", "hint-dedicated", "poll-control", "pv-ipi", "dirty-ring"] {
            table["domain/features/kvm/\(hint)"] = ["state": nil, "size": nil]
        }
        for device in ["video", "sound", "input", "memballoon", "rng", "controller", "channel", "serial", "redirdev", "smartcard",
                       "interface", "watchdog", "panic", "hub"] {
            table["domain/devices/\(device)/address"] = address
        }
        return table
    }()
}

extension DomainXMLPolicy.Extra {
    /// The elements the extra adds to the allowlist (its hazard rule lets the element itself
    /// through only for its own type).
    var elements: [String: DomainXMLPolicy.Attributes] {
        switch self {
        case .usbHostdev, .pciHostdev:
            return [
                "domain/devices/hostdev": ["mode": ["subsystem"], "type": [rawValue == "usbHostdev" ? "usb" : "pci"], "managed": nil],
                "domain/devices/hostdev/source": [:], "domain/devices/hostdev/source/vendor": ["id": nil],
                "domain/devices/hostdev/source/product": ["id": nil],
                "domain/devices/hostdev/source/address": ["domain": nil, "bus": nil, "slot": nil, "function": nil, "device": nil],
                "domain/devices/hostdev/driver": ["name": ["vfio"]], "domain/devices/hostdev/boot": ["order": nil],
                "domain/devices/hostdev/address": ["type": nil, "domain": nil, "bus": nil, "slot": nil, "function": nil, "port": nil],
            ]
        case .bridgeInterface:
            return [
                "domain/devices/interface": ["type": ["bridge"]],
                "domain/devices/interface/source": ["bridge": nil],
            ]
        case .userInterface:
            return ["domain/devices/interface": ["type": ["user"]]]
        }
    }
}
