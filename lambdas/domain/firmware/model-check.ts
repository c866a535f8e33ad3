import {
  type FeatureContract,
  featureContractOf,
  ModelProperty,
  metadataProblem,
  signatureProblem,
} from '../../../lib/protocol/model-contract.ts';
import { type OnnxModelMetadata, readOnnxMetadata } from '../../../lib/protocol/onnx/onnx-metadata.ts';

/** What the model registry knows of a model before it looks inside: what it was registered as. */
export interface RegisteredModel {
  readonly version: string;
  readonly deviceTypes: readonly string[];
}

/**
 * Why the uploaded bytes are not a model the registered device types can run (issue 12, step 4): not
 * ONNX; declaring another version than it is registered as (the agent refuses that); or, for each
 * device type's feature contract, metadata that does not fit (feature set, features, window length,
 * threshold, interval range) or inputs and outputs that are not one float32 `[batch, features]` in and
 * one float32 `[batch, 1]` out. Empty when the model fits. Read from the bytes alone: the registry has no
 * runtime to load it with (a device still runs a probe before it serves it).
 */
export function modelContractProblems(model: RegisteredModel, bytes: Uint8Array): string[] {
  let metadata: OnnxModelMetadata;
  try {
    metadata = readOnnxMetadata(bytes);
  } catch (error) {
    return [`not an ONNX model: ${(error as Error).message}`];
  }
  const problems: string[] = [];
  const declared = metadata.properties[ModelProperty.version];
  if (declared !== model.version)
    problems.push(`declares version ${declared ?? '(none)'} in its metadata, registered as ${model.version}`);
  // Device types that share a contract are checked once, and named together.
  const byContract = new Map<FeatureContract, string[]>();
  for (const type of model.deviceTypes) {
    const contract = featureContractOf(type);
    byContract.set(contract, [...(byContract.get(contract) ?? []), type]);
  }
  for (const [contract, types] of byContract) {
    const problem =
      metadataProblem(metadata.properties, contract) ??
      signatureProblem(metadata.inputs, metadata.outputs, contract);
    if (problem !== undefined) problems.push(`for ${types.join(', ')} (${contract.featureSet}): ${problem}`);
  }
  return problems;
}
