// One Key Vault secret with a content type and an expiry. Used as a module so that optional
// secrets are made conditional at the module call, not on the resource (keeps checks exact).
param keyVaultName string
param secretName string
param contentType string

@secure()
param value string

@description('Unix time the secret expires (it is re-written with a new expiry on each provision).')
param expiresEpoch int

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: secretName
  properties: {
    value: value
    contentType: contentType
    attributes: {
      enabled: true
      exp: expiresEpoch
    }
  }
}

// Versionless: a Key Vault reference to it follows the latest version after a rotation.
output uri string = '${vault.properties.vaultUri}secrets/${secret.name}'
