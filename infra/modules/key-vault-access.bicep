// Key Vault Secrets Officer for Warden's identity on ONE customer vault that holds Azure OpenAI /
// AI Services account keys under the dual-credential tags (CredentialId, ProviderAddress,
// ValidityPeriodDays). Warden reads the tags, lists secret metadata and writes the new secret
// version during a rotation; it needs nothing else there. The vault must use the RBAC permission
// model. Deployed at the vault's resource group (the vault may live in another subscription).
param vaultName string
param principalId string

var keyVaultSecretsOfficerRoleId = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, keyVaultSecretsOfficerRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Warden: rotate account keys stored in this vault (read tags, write new secret versions).'
  }
}
