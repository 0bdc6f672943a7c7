/** ONNX TensorProto.DataType codes for the dtypes maas carries. */
import type { TensorDType } from '../runtime/tensor';

export const onnxDataType: Record<TensorDType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
};
