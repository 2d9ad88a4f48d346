"""vidqa.pipeline"""
