//! Where a `null` is dropped, transcribed from the TypeScript SDK's zod schemas
//! (`src/types.ts` of `@modelcontextprotocol/sdk` 1.32.2, the schema Claude Desktop's client
//! checks results against).
//!
//! Only keys the schema declares `.optional()` are listed: zod's `optional()` accepts a
//! missing key but rejects `null`, and for an optional key "missing" is the only meaning a
//! `null` can have. Required keys (`name`, `uri`, `inputSchema`, `content`, `protocolVersion`
//! …) are never listed: a `null` there is an error the client should see. Keys the schema does
//! not declare are never touched either (zod strips unknown keys; a `null` there is valid).
//! Entries of free-form maps (`experimental`, `properties`, `_meta` contents) are left alone:
//! their meaning is the server's.

/// What is known about one JSON value in a result.
pub(super) enum Shape {
    /// An object with these keys.
    Object(&'static Obj),
    /// An array whose elements all have this shape.
    Array(&'static Shape),
    /// A content block: an object whose shape depends on its `type` string.
    ByType(&'static [(&'static str, &'static Obj)]),
}

/// The keys of one object schema that matter here.
pub(super) struct Obj {
    /// Optional keys: a `null` value means "absent" and is dropped.
    pub optional: &'static [&'static str],
    /// Keys whose value has known inner structure.
    pub nested: &'static [(&'static str, Shape)],
}

/// The result shape for the response to `method`, if its result is covered.
pub(super) fn result_shape(method: &str) -> Option<&'static Obj> {
    Some(match method {
        "initialize" => &INITIALIZE,
        "tools/list" => &LIST_TOOLS,
        "tools/call" => &CALL_TOOL,
        "resources/list" => &LIST_RESOURCES,
        "resources/templates/list" => &LIST_RESOURCE_TEMPLATES,
        "resources/read" => &READ_RESOURCE,
        "prompts/list" => &LIST_PROMPTS,
        "prompts/get" => &GET_PROMPT,
        _ => return None,
    })
}

/// `ResultSchema._meta` and, for paginated results, `PaginatedResultSchema.nextCursor`.
const RESULT: &[&str] = &["_meta"];
const PAGINATED: &[&str] = &["_meta", "nextCursor"];

/// `IconSchema`.
static ICON: Obj = Obj {
    optional: &["mimeType", "sizes", "theme"],
    nested: &[],
};
const ICONS: (&str, Shape) = ("icons", Shape::Array(&Shape::Object(&ICON)));

/// `AnnotationsSchema` (on resources and content blocks).
static ANNOTATIONS: Obj = Obj {
    optional: &["audience", "priority", "lastModified"],
    nested: &[],
};

/// `InitializeResultSchema`.
static INITIALIZE: Obj = Obj {
    optional: &["_meta", "instructions"],
    nested: &[
        ("capabilities", Shape::Object(&SERVER_CAPABILITIES)),
        ("serverInfo", Shape::Object(&IMPLEMENTATION)),
    ],
};

/// `ServerCapabilitiesSchema`.
static SERVER_CAPABILITIES: Obj = Obj {
    optional: &[
        "experimental",
        "logging",
        "completions",
        "prompts",
        "resources",
        "tools",
        "tasks",
        "extensions",
    ],
    nested: &[
        ("prompts", Shape::Object(&LIST_CHANGED)),
        ("resources", Shape::Object(&RESOURCES_CAPABILITY)),
        ("tools", Shape::Object(&LIST_CHANGED)),
        ("tasks", Shape::Object(&TASKS_CAPABILITY)),
    ],
};

/// `ServerCapabilitiesSchema.prompts` and `.tools`.
static LIST_CHANGED: Obj = Obj {
    optional: &["listChanged"],
    nested: &[],
};

/// `ServerCapabilitiesSchema.resources`.
static RESOURCES_CAPABILITY: Obj = Obj {
    optional: &["subscribe", "listChanged"],
    nested: &[],
};

/// `ServerTasksCapabilitySchema`.
static TASKS_CAPABILITY: Obj = Obj {
    optional: &["list", "cancel", "requests"],
    nested: &[("requests", Shape::Object(&TASKS_REQUESTS))],
};
static TASKS_REQUESTS: Obj = Obj {
    optional: &["tools"],
    nested: &[("tools", Shape::Object(&TASKS_TOOLS))],
};
static TASKS_TOOLS: Obj = Obj {
    optional: &["call"],
    nested: &[],
};

/// `ImplementationSchema` (`serverInfo`).
static IMPLEMENTATION: Obj = Obj {
    optional: &["title", "icons", "websiteUrl", "description"],
    nested: &[ICONS],
};

/// `ListToolsResultSchema`.
static LIST_TOOLS: Obj = Obj {
    optional: PAGINATED,
    nested: &[("tools", Shape::Array(&Shape::Object(&TOOL)))],
};

/// `ToolSchema`.
static TOOL: Obj = Obj {
    optional: &[
        "title",
        "icons",
        "description",
        "outputSchema",
        "annotations",
        "execution",
        "_meta",
    ],
    nested: &[
        ICONS,
        ("inputSchema", Shape::Object(&TOOL_SCHEMA)),
        ("outputSchema", Shape::Object(&TOOL_SCHEMA)),
        ("annotations", Shape::Object(&TOOL_ANNOTATIONS)),
        ("execution", Shape::Object(&TOOL_EXECUTION)),
    ],
};

/// `ToolSchema.inputSchema` / `.outputSchema`: `properties` and `required` are optional
/// (a JSON Schema has no meaning for `null` in either).
static TOOL_SCHEMA: Obj = Obj {
    optional: &["properties", "required"],
    nested: &[],
};

/// `ToolAnnotationsSchema`.
static TOOL_ANNOTATIONS: Obj = Obj {
    optional: &[
        "title",
        "readOnlyHint",
        "destructiveHint",
        "idempotentHint",
        "openWorldHint",
    ],
    nested: &[],
};

/// `ToolExecutionSchema`.
static TOOL_EXECUTION: Obj = Obj {
    optional: &["taskSupport"],
    nested: &[],
};

/// `CallToolResultSchema`. `content` is required by the MCP schema and is left alone.
static CALL_TOOL: Obj = Obj {
    optional: &["_meta", "structuredContent", "isError"],
    nested: &[("content", Shape::Array(&CONTENT_BLOCK))],
};

/// `ContentBlockSchema`: text, image, audio, resource_link, resource.
const CONTENT_BLOCK: Shape = Shape::ByType(&[
    ("text", &MEDIA_BLOCK),
    ("image", &MEDIA_BLOCK),
    ("audio", &MEDIA_BLOCK),
    ("resource_link", &RESOURCE),
    ("resource", &EMBEDDED_RESOURCE),
]);

/// `TextContentSchema`, `ImageContentSchema`, `AudioContentSchema`.
static MEDIA_BLOCK: Obj = Obj {
    optional: &["annotations", "_meta"],
    nested: &[("annotations", Shape::Object(&ANNOTATIONS))],
};

/// `EmbeddedResourceSchema`.
static EMBEDDED_RESOURCE: Obj = Obj {
    optional: &["annotations", "_meta"],
    nested: &[
        ("annotations", Shape::Object(&ANNOTATIONS)),
        ("resource", Shape::Object(&RESOURCE_CONTENTS)),
    ],
};

/// `ResourceContentsSchema` (text or blob).
static RESOURCE_CONTENTS: Obj = Obj {
    optional: &["mimeType", "_meta"],
    nested: &[],
};

/// `ListResourcesResultSchema`.
static LIST_RESOURCES: Obj = Obj {
    optional: PAGINATED,
    nested: &[("resources", Shape::Array(&Shape::Object(&RESOURCE)))],
};

/// `ResourceSchema` (and `ResourceLinkSchema`, which extends it).
static RESOURCE: Obj = Obj {
    optional: &[
        "title",
        "icons",
        "description",
        "mimeType",
        "size",
        "annotations",
        "_meta",
    ],
    nested: &[ICONS, ("annotations", Shape::Object(&ANNOTATIONS))],
};

/// `ListResourceTemplatesResultSchema`.
static LIST_RESOURCE_TEMPLATES: Obj = Obj {
    optional: PAGINATED,
    nested: &[(
        "resourceTemplates",
        Shape::Array(&Shape::Object(&RESOURCE_TEMPLATE)),
    )],
};

/// `ResourceTemplateSchema`.
static RESOURCE_TEMPLATE: Obj = Obj {
    optional: &[
        "title",
        "icons",
        "description",
        "mimeType",
        "annotations",
        "_meta",
    ],
    nested: &[ICONS, ("annotations", Shape::Object(&ANNOTATIONS))],
};

/// `ReadResourceResultSchema`.
static READ_RESOURCE: Obj = Obj {
    optional: RESULT,
    nested: &[("contents", Shape::Array(&Shape::Object(&RESOURCE_CONTENTS)))],
};

/// `ListPromptsResultSchema`.
static LIST_PROMPTS: Obj = Obj {
    optional: PAGINATED,
    nested: &[("prompts", Shape::Array(&Shape::Object(&PROMPT)))],
};

/// `PromptSchema`.
static PROMPT: Obj = Obj {
    optional: &["title", "icons", "description", "arguments", "_meta"],
    nested: &[
        ICONS,
        ("arguments", Shape::Array(&Shape::Object(&PROMPT_ARGUMENT))),
    ],
};

/// `PromptArgumentSchema`.
static PROMPT_ARGUMENT: Obj = Obj {
    optional: &["description", "required"],
    nested: &[],
};

/// `GetPromptResultSchema`.
static GET_PROMPT: Obj = Obj {
    optional: &["_meta", "description"],
    nested: &[("messages", Shape::Array(&Shape::Object(&PROMPT_MESSAGE)))],
};

/// `PromptMessageSchema`: `content` is one content block.
static PROMPT_MESSAGE: Obj = Obj {
    optional: &[],
    nested: &[("content", CONTENT_BLOCK)],
};
