/** The tenancy ports live in the store layer (src/store/tenancy) so adapters import downward. */
export type * from '../../store/tenancy/ports';
