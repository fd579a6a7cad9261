//! The ONNX messages the exporter writes, as `prost` messages with the field numbers of
//! `onnx.proto` (only the fields used here and the ones a reader of these files needs;
//! protobuf skips the others when decoding). Public so that a program (or a test) can
//! decode an exported model with the same definitions.

/// `TensorProto.DataType.FLOAT`.
pub const DATA_TYPE_FLOAT: i32 = 1;
/// `TensorProto.DataType.INT64` (shapes, indices, pads).
pub const DATA_TYPE_INT64: i32 = 7;
/// `TensorProto.DataType.BOOL`.
pub const DATA_TYPE_BOOL: i32 = 9;
/// `TensorProto.DataType.DOUBLE`.
pub const DATA_TYPE_DOUBLE: i32 = 11;

/// `AttributeProto.AttributeType.FLOAT`.
pub const ATTRIBUTE_FLOAT: i32 = 1;
/// `AttributeProto.AttributeType.INT`.
pub const ATTRIBUTE_INT: i32 = 2;
/// `AttributeProto.AttributeType.INTS`.
pub const ATTRIBUTE_INTS: i32 = 7;

/// A whole model: the graph, the operator sets it uses and its metadata.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// The IR version the file follows.
    #[prost(int64, optional, tag = "1")]
    pub ir_version: Option<i64>,
    /// The tool that wrote the file.
    #[prost(string, optional, tag = "2")]
    pub producer_name: Option<String>,
    /// The version of that tool.
    #[prost(string, optional, tag = "3")]
    pub producer_version: Option<String>,
    /// A free-text description.
    #[prost(string, optional, tag = "6")]
    pub doc_string: Option<String>,
    /// The computation.
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    /// The operator sets (domain and version) the nodes bind to.
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    /// Named metadata strings.
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// One operator set: `domain` (empty for the default `ai.onnx`) at `version`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    /// The domain; empty is `ai.onnx`.
    #[prost(string, optional, tag = "1")]
    pub domain: Option<String>,
    /// The operator set's version.
    #[prost(int64, optional, tag = "2")]
    pub version: Option<i64>,
}

/// A metadata entry.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringStringEntryProto {
    /// The key.
    #[prost(string, optional, tag = "1")]
    pub key: Option<String>,
    /// The value.
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// A graph: nodes in topological order, constant tensors, inputs and outputs.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// The nodes, each after the nodes that compute its inputs.
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// The graph's name.
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
    /// The constant tensors (weights, biases, scaling constants).
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    /// A free-text description.
    #[prost(string, optional, tag = "10")]
    pub doc_string: Option<String>,
    /// The inputs a caller feeds.
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// The outputs it computes.
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
}

/// One operator application.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// The names of its input values.
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// The names of the values it computes.
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// The node's name.
    #[prost(string, optional, tag = "3")]
    pub name: Option<String>,
    /// The operator (`Gemm`, `Relu`, …).
    #[prost(string, optional, tag = "4")]
    pub op_type: Option<String>,
    /// The operator's attributes.
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
    /// The operator's domain; empty is `ai.onnx`.
    #[prost(string, optional, tag = "7")]
    pub domain: Option<String>,
}

/// A named attribute of a node; `type` says which value field is set.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// The attribute's name.
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// A float value (`type` = [`ATTRIBUTE_FLOAT`]).
    #[prost(float, optional, tag = "2")]
    pub f: Option<f32>,
    /// An integer value (`type` = [`ATTRIBUTE_INT`]).
    #[prost(int64, optional, tag = "3")]
    pub i: Option<i64>,
    /// A list of integers (`type` = [`ATTRIBUTE_INTS`]).
    #[prost(int64, repeated, packed = "false", tag = "8")]
    pub ints: Vec<i64>,
    /// Which value field is set.
    #[prost(int32, optional, tag = "20")]
    pub r#type: Option<i32>,
}

/// A constant tensor; the values are in `raw_data`, little-endian, row-major.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// The shape.
    #[prost(int64, repeated, packed = "false", tag = "1")]
    pub dims: Vec<i64>,
    /// The element type ([`DATA_TYPE_FLOAT`], [`DATA_TYPE_DOUBLE`]).
    #[prost(int32, optional, tag = "2")]
    pub data_type: Option<i32>,
    /// Values as `float_data` (another writer's form; this exporter uses `raw_data`).
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    /// The tensor's name, by which nodes use it.
    #[prost(string, optional, tag = "8")]
    pub name: Option<String>,
    /// The values as little-endian bytes, row-major.
    #[prost(bytes = "vec", optional, tag = "9")]
    pub raw_data: Option<Vec<u8>>,
    /// Values as `double_data` (another writer's form; this exporter uses `raw_data`).
    #[prost(double, repeated, tag = "10")]
    pub double_data: Vec<f64>,
}

/// A value's name and type (for the graph's inputs and outputs).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// The value's name.
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// Its type.
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
}

/// A value's type: here always a tensor.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    /// The tensor type (the `value` oneof's `tensor_type`).
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TensorTypeProto>,
}

/// A tensor type: element type and shape.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorTypeProto {
    /// The element type ([`DATA_TYPE_FLOAT`], [`DATA_TYPE_DOUBLE`]).
    #[prost(int32, optional, tag = "1")]
    pub elem_type: Option<i32>,
    /// The shape.
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}

/// A tensor shape: one entry per axis.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// The axes, outermost first.
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<Dimension>,
}

/// One axis: a fixed size or a symbolic name (the batch axis, `N`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Dimension {
    /// A fixed size (the `value` oneof's `dim_value`).
    #[prost(int64, optional, tag = "1")]
    pub dim_value: Option<i64>,
    /// A symbolic size (the `value` oneof's `dim_param`).
    #[prost(string, optional, tag = "2")]
    pub dim_param: Option<String>,
}
