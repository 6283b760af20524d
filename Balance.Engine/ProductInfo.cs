using System.Reflection;

namespace Balance;

/// <summary>Version texts reported by <c>version</c>, the segment header and the module.</summary>
internal static class ProductInfo
{
    /// <summary>The release of the original program whose command line and formats this one keeps.</summary>
    public const string CompatibleRelease = "3.54";

    public static string Version { get; } =
        typeof(ProductInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(ProductInfo).Assembly.GetName().Version?.ToString(3)
        ?? "0.0.0";
}
