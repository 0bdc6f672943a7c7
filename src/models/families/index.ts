/** THE family table: one row per family. Adding a family = writing its file and adding a row. */
import { cnnFamily } from './cnn';
import { RecipeRegistry } from './family';
import { mlpFamily } from './mlp';
import { textCnnFamily } from './text-cnn';

export const families = new RecipeRegistry();
families.register(mlpFamily);
families.register(cnnFamily);
families.register(textCnnFamily);

export * from './family';
export { fitFamily } from './fit';
export { decodePredictions, recordsFromInputs } from './predict';
