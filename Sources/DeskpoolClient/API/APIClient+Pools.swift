public import DeskpoolCore

extension APIClient {
    /// `GET /api/v1/admin/pools`.
    public func pools() async throws -> [PoolView] {
        try await call(.pools)
    }

    /// `GET /api/v1/admin/pools/{name}`.
    public func pool(_ name: String) async throws -> PoolView {
        try await call(.pool(name))
    }

    /// `POST /api/v1/admin/pools`: a new pool (409 `alreadyExists` if the name is taken).
    public func createPool(_ spec: PoolSpec) async throws -> PoolView {
        try await call(.api(.post, "admin", "pools").sending(spec))
    }

    /// `PUT /api/v1/admin/pools/{name}`: creates the pool or changes it to the spec.
    public func putPool(_ spec: PoolSpec) async throws -> PoolView {
        try await call(.api(.put, "admin", "pools", spec.name).sending(spec))
    }

    /// `POST /api/v1/admin/pools/{name}/scale`: changes the sizes given; the others stay.
    public func scalePool(_ name: String, _ sizes: ScaleRequest) async throws -> PoolView {
        try await call(.api(.post, "admin", "pools", name, "scale").sending(sizes))
    }

    /// `PUT /api/v1/admin/pools/{name}/entitlements`: replaces both lists.
    public func setEntitlements(pool: String, users: [String], groups: [String]) async throws -> PoolView {
        try await call(.api(.put, "admin", "pools", pool, "entitlements").sending(EntitlementsRequest(users: users, groups: groups)))
    }

    /// `DELETE /api/v1/admin/pools/{name}`: starts draining the pool; it disappears once it
    /// has no desktops.
    public func deletePool(_ name: String) async throws -> PoolView {
        try await call(.api(.delete, "admin", "pools", name))
    }
}

extension Endpoint {
    public static let pools = Endpoint.api(.get, "admin", "pools")
    public static func pool(_ name: String) -> Endpoint { .api(.get, "admin", "pools", name) }
}
