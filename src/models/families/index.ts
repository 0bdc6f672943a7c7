/** THE family table: one row per family. Adding a family = writing its file and adding a row. */
import { cnnFamily } from './cnn';
import { RecipeRegistry } from './family';
import { importedFamily } from './imported';
import { loraFamily } from './lora';
import { mlpFamily } from './mlp';
import { textCnnFamily } from './text-cnn';

export const families = new RecipeRegistry();
families.register(mlpFamily);
families.register(cnnFamily);
families.register(textCnnFamily);
families.register(importedFamily);
families.register(loraFamily);

export * from './family';
export { fitFamily } from './fit';
export { IMPORTED_FAMILY } from './imported';
export { importedSpec, type TransferChoice } from './imported-spec';
export { LORA_FAMILY } from './lora';
export { decodePredictions, recordsFromInputs } from './predict';
