/** The tenancy records live with their store ports (src/store/tenancy) so adapters import downward. */
export type * from '../../store/tenancy/types';
