# Homebrew formula: builds mcp-keybridge from source with cargo (rustls, so no OpenSSL), and
# installs the man page and the bash/zsh/fish completions the binary generates.
# Released as described in packaging/README.md: OWNER, the tag and sha256 are filled in for
# each release (sha256 of the tag's source tarball: `curl -L URL | shasum -a 256`).
class McpKeybridge < Formula
  desc "Stdio MCP server relaying to remote MCP servers with tokens from the OS keychain"
  homepage "https://github.com/OWNER/mcp-keybridge"
  url "https://github.com/OWNER/mcp-keybridge/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "SHA256_OF_THE_RELEASE_TARBALL"
  license any_of: ["MIT", "Apache-2.0"]
  head "https://github.com/OWNER/mcp-keybridge.git", branch: "main"

  # Pure Rust throughout (rustls; zbus for the Secret Service): no C library to link.
  depends_on "rust" => :build

  def install
    system "cargo", "install", *std_cargo_args
    generate_completions_from_executable(bin/"mcp-keybridge", "completions")
    # The main page and one per subcommand, which the main page refers to.
    system bin/"mcp-keybridge", "man", "--dir", buildpath/"man"
    man1.install Dir[buildpath/"man/*.1"]
  end

  def caveats
    <<~EOS
      Check the install with a built-in demo server:
        mcp-keybridge check --demo
      Then store a token and add the server to Claude Desktop:
        mcp-keybridge auth set NAME
        mcp-keybridge config claude --name NAME URL --bearer keychain:NAME --write
    EOS
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/mcp-keybridge --version")
    # A literal token is refused for a client config, and the refusal does not echo it.
    output = shell_output(
      "#{bin}/mcp-keybridge config claude --name t https://example.com/mcp --bearer ghp_0123456789abcdefXYZ 2>&1", 2
    )
    assert_match "auth set", output
    refute_match "0123456789abcdefXYZ", output
  end
end
